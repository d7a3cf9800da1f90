// Copies Swagger UI (swagger-ui-dist) into dist/swagger/ so /docs needs no CDN, and writes its
// start-up script as a file (the page's CSP forbids inline scripts).
import { copyFileSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const src = dirname(require.resolve("swagger-ui-dist/package.json"));
const out = join("dist", "swagger");
mkdirSync(out, { recursive: true });
for (const f of ["swagger-ui-bundle.js", "swagger-ui.css", "LICENSE"]) {
  copyFileSync(join(src, f), join(out, f));
}
writeFileSync(
  join(out, "swagger-init.js"),
  'window.ui = SwaggerUIBundle({ url: "/openapi.json", dom_id: "#swagger-ui", deepLinking: true });\n',
);
console.log("swagger-ui-dist copied to", out);
