import { createRoot } from "react-dom/client";
import { App } from "./App";
import { loadErrorTable } from "./i18n";
import "./style.css";

loadErrorTable()
  .catch(() => undefined)
  .finally(() => createRoot(document.getElementById("root")!).render(<App />));
