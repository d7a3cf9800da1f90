<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="zh_CN" sourcelanguage="en">
<context>
    <name>AccountDialog</name>
    <message>
        <source>Cloud account</source>
        <translation>云端账户</translation>
    </message>
    <message>
        <source>Your session is kept in the system keyring (or a file only you can read); the password is not stored.</source>
        <translation>会话保存在系统密钥环中（或仅您本人可读的文件中）；密码不会被保存。</translation>
    </message>
    <message>
        <source>Server</source>
        <translation>服务器</translation>
    </message>
    <message>
        <source>Account</source>
        <translation>账户</translation>
    </message>
    <message>
        <source>Password</source>
        <translation>密码</translation>
    </message>
    <message>
        <source>Sign in</source>
        <translation>登录</translation>
    </message>
    <message>
        <source>Sign out</source>
        <translation>退出登录</translation>
    </message>
    <message>
        <source>Close</source>
        <translation>关闭</translation>
    </message>
</context>
<context>
    <name>AudioOutput</name>
    <message>
        <source>Cannot open the audio output: {reason}</source>
        <translation>无法打开音频输出：{reason}</translation>
    </message>
    <message>
        <source>No audio output: the PortAudio library is missing (install libportaudio2). Everything else works.</source>
        <translation>没有音频输出：缺少 PortAudio 库（请安装 libportaudio2）。其他功能均可正常使用。</translation>
    </message>
    <message>
        <source>No audio output: python-sounddevice is not installed.</source>
        <translation>没有音频输出：未安装 python-sounddevice。</translation>
    </message>
    <message>
        <source>No audio output device was found.</source>
        <translation>未找到音频输出设备。</translation>
    </message>
</context>
<context>
    <name>CloudController</name>
    <message>
        <source>Signed in as {user} on {server}</source>
        <translation>已以 {user} 身份登录 {server}</translation>
    </message>
    <message>
        <source>Not signed in</source>
        <translation>未登录</translation>
    </message>
    <message>
        <source>Enter the account name and the password.</source>
        <translation>请输入账户名和密码。</translation>
    </message>
    <message>
        <source>Signing in to {server}</source>
        <translation>正在登录 {server}</translation>
    </message>
    <message>
        <source>Signed out on this computer (the server was not reached).</source>
        <translation>已在本机退出登录（未能连接服务器）。</translation>
    </message>
    <message>
        <source>Signing out</source>
        <translation>正在退出登录</translation>
    </message>
    <message>
        <source>Sign in to process in the cloud.</source>
        <translation>请先登录，才能在云端处理。</translation>
    </message>
    <message>
        <source>A big job: {n} target(s), {length} of audio in all. Processing it in the cloud keeps this computer free.</source>
        <translation>这是一个大任务：{n} 个目标，共 {length} 的音频。在云端处理可让这台电脑保持空闲。</translation>
    </message>
    <message>
        <source>Add a reference and a target first.</source>
        <translation>请先添加参考和目标。</translation>
    </message>
    <message>
        <source>Submitted to the cloud as job {job}.</source>
        <translation>已提交到云端，任务编号 {job}。</translation>
    </message>
    <message>
        <source>Upload canceled; nothing was submitted.</source>
        <translation>上传已取消；没有提交任何任务。</translation>
    </message>
    <message>
        <source>Uploading to the cloud: {name}</source>
        <translation>正在上传到云端：{name}</translation>
    </message>
    <message>
        <source>{reason} Your cloud jobs are kept; checking again shortly.</source>
        <translation>{reason} 您的云端任务都还在；稍后会再次检查。</translation>
    </message>
    <message>
        <source>Cloud job {name} failed: {reason}</source>
        <translation>云端任务 {name} 失败：{reason}</translation>
    </message>
    <message>
        <source>Cloud job {name} finished.</source>
        <translation>云端任务 {name} 已完成。</translation>
    </message>
    <message>
        <source>Downloaded {n} files to {folder}</source>
        <translation>已下载 {n} 个文件到 {folder}</translation>
    </message>
    <message>
        <source>Downloading the result of {name}</source>
        <translation>正在下载 {name} 的结果</translation>
    </message>
    <message>
        <source>saved to {folder}</source>
        <translation>已保存到 {folder}</translation>
    </message>
    <message>
        <source>{name}: {lufs}&#xa0;LUFS, {tp}&#xa0;dBTP</source>
        <translation>{name}：&#x200b;{lufs}&#xa0;LUFS，&#x200b;{tp}&#xa0;dBTP</translation>
    </message>
    <message>
        <source>; after {codec}: {tp}&#xa0;dBTP</source>
        <translation>；&#x200b;{codec} 编解码后：&#x200b;{tp}&#xa0;dBTP</translation>
    </message>
    <message>
        <source>the codec</source>
        <translation>编解码器</translation>
    </message>
</context>
<context>
    <name>ControlsPanel</name>
    <message>
        <source>Overall</source>
        <translation>总体</translation>
    </message>
    <message>
        <source>EQ</source>
        <translation>均衡</translation>
    </message>
    <message>
        <source>Dynamics</source>
        <translation>动态</translation>
    </message>
    <message>
        <source>Width</source>
        <translation>宽度</translation>
    </message>
    <message>
        <source>Loudness</source>
        <translation>响度</translation>
    </message>
    <message>
        <source>Scales every aspect of the match</source>
        <translation>按比例调整匹配的所有方面</translation>
    </message>
    <message>
        <source>How much of the tonal balance (EQ curve) is matched</source>
        <translation>匹配多少音色平衡（均衡曲线）</translation>
    </message>
    <message>
        <source>How much of the reference&apos;s dynamics is matched</source>
        <translation>匹配多少参考曲目的动态</translation>
    </message>
    <message>
        <source>How much of the reference&apos;s stereo width is matched</source>
        <translation>匹配多少参考曲目的立体声宽度</translation>
    </message>
    <message>
        <source>How much of the loudness difference is matched</source>
        <translation>匹配多少响度差异</translation>
    </message>
    <message>
        <source>Amount</source>
        <translation>强度</translation>
    </message>
    <message>
        <source>{value} %</source>
        <translation>{value} %</translation>
    </message>
    <message>
        <source>Limits</source>
        <translation>限制</translation>
    </message>
    <message>
        <source>Auto</source>
        <translation>自动</translation>
    </message>
    <message>
        <source> oct</source>
        <translation> 倍频程</translation>
    </message>
    <message>
        <source>EQ curve smoothing in octaves; Auto picks it from how much to trust the reference</source>
        <translation>均衡曲线的平滑宽度（倍频程）；“自动”根据参考曲目的可信度选择</translation>
    </message>
    <message>
        <source>Smoothing</source>
        <translation>平滑</translation>
    </message>
    <message>
        <source>Limiter</source>
        <translation>限制器</translation>
    </message>
    <message>
        <source>Ceiling</source>
        <translation>上限</translation>
    </message>
    <message>
        <source>Most limiting the loudness target may take; past it the result stays quieter than the target</source>
        <translation>为达到目标响度最多允许的限幅量；超过时结果保持比目标更低的响度</translation>
    </message>
    <message>
        <source>Max limiting</source>
        <translation>最大限幅</translation>
    </message>
    <message>
        <source>Override</source>
        <translation>自定义</translation>
    </message>
    <message>
        <source>Use this loudness instead of the reference&apos;s</source>
        <translation>使用此响度，而不是参考曲目的响度</translation>
    </message>
    <message>
        <source>Target loudness</source>
        <translation>目标响度</translation>
    </message>
    <message>
        <source>Match</source>
        <translation>匹配</translation>
    </message>
    <message>
        <source>Analyse, plan and render the match (Ctrl+M)</source>
        <translation>分析、规划并渲染匹配结果（Ctrl+M）</translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation>取消</translation>
    </message>
    <message>
        <source>Process in the cloud</source>
        <translation>在云端处理</translation>
    </message>
    <message>
        <source>Upload every target with the references to your audio-style server and process them there; the jobs panel follows them</source>
        <translation>将所有目标和参考上传到您的 audio-style 服务器并在那里处理；任务面板会跟踪进度</translation>
    </message>
    <message>
        <source>Match in the cloud</source>
        <translation>在云端匹配</translation>
    </message>
</context>
<context>
    <name>CurveView</name>
    <message>
        <source>Peak</source>
        <translation>峰值</translation>
    </message>
    <message>
        <source>Low shelf</source>
        <translation>低架</translation>
    </message>
    <message>
        <source>High shelf</source>
        <translation>高架</translation>
    </message>
    <message>
        <source>Mid</source>
        <translation>中声道</translation>
    </message>
    <message>
        <source>Side</source>
        <translation>侧声道</translation>
    </message>
    <message>
        <source>{channel} {kind}: {freq} Hz, {gain} dB, Q {q}</source>
        <translation>{channel} {kind}：{freq} Hz，{gain} dB，Q {q}</translation>
    </message>
    <message>
        <source>Match curve (EQ change)</source>
        <translation>匹配曲线（均衡变化）</translation>
    </message>
    <message>
        <source>Frequency (Hz)</source>
        <translation>频率 (Hz)</translation>
    </message>
    <message>
        <source>Gain (dB)</source>
        <translation>增益 (dB)</translation>
    </message>
    <message>
        <source>Drag a band to change its frequency and gain; wheel: Q.</source>
        <translation>拖动频段可改变频率和增益；滚轮调整 Q 值。</translation>
    </message>
    <message>
        <source>{n} bands · fit error {err} dB · smoothing {smooth} oct · reference trust {trust}</source>
        <translation>{n} 个频段 · 拟合误差 {err} dB · 平滑 {smooth} 倍频程 · 参考可信度 {trust}</translation>
    </message>
</context>
<context>
    <name>DeliveryController</name>
    <message>
        <source>Checking delivery</source>
        <translation>正在进行交付检查</translation>
    </message>
</context>
<context>
    <name>DeliveryPanel</name>
    <message>
        <source>Match a target to see how it fares on streaming services.</source>
        <translation>匹配一个目标后，可在此查看它在各流媒体平台上的表现。</translation>
    </message>
    <message>
        <source>Service</source>
        <translation>平台</translation>
    </message>
    <message>
        <source>Normalises to</source>
        <translation>归一化目标</translation>
    </message>
    <message>
        <source>Gain</source>
        <translation>增益</translation>
    </message>
    <message>
        <source>Plays at</source>
        <translation>播放响度</translation>
    </message>
    <message>
        <source>Codec</source>
        <translation>编码</translation>
    </message>
    <message>
        <source>Peak after codec</source>
        <translation>编码后峰值</translation>
    </message>
    <message>
        <source>Check</source>
        <translation>检查项</translation>
    </message>
    <message>
        <source>Value</source>
        <translation>数值</translation>
    </message>
    <message>
        <source>Verdict</source>
        <translation>结论</translation>
    </message>
    <message>
        <source>Reference use</source>
        <translation>参考使用情况</translation>
    </message>
    <message>
        <source>True peak</source>
        <translation>真峰值</translation>
    </message>
    <message>
        <source>Inter-sample overs</source>
        <translation>采样间过载</translation>
    </message>
    <message>
        <source>Mono fold-down</source>
        <translation>单声道折叠</translation>
    </message>
    <message>
        <source>Cancels in mono</source>
        <translation>单声道下抵消</translation>
    </message>
    <message>
        <source>Min. correlation (3 s)</source>
        <translation>最小相关系数（3 秒）</translation>
    </message>
    <message>
        <source>Clipped samples</source>
        <translation>削波采样</translation>
    </message>
    <message>
        <source>DC offset</source>
        <translation>直流偏移</translation>
    </message>
    <message>
        <source>Checking delivery (codec round trips)…</source>
        <translation>正在进行交付检查（编解码往返）…</translation>
    </message>
    <message>
        <source>{n} delivery check(s) failed; see the red rows.</source>
        <translation>{n} 项交付检查未通过，见红色行。</translation>
    </message>
    <message>
        <source>All delivery checks passed.</source>
        <translation>所有交付检查均通过。</translation>
    </message>
    <message>
        <source>none</source>
        <translation>无</translation>
    </message>
    <message>
        <source>ok</source>
        <translation>通过</translation>
    </message>
    <message>
        <source>fails</source>
        <translation>未通过</translation>
    </message>
    <message>
        <source>Service data: {source}</source>
        <translation>平台数据来源：{source}</translation>
    </message>
    <message>
        <source>EQ</source>
        <translation>均衡</translation>
    </message>
    <message>
        <source>Dynamics</source>
        <translation>动态</translation>
    </message>
    <message>
        <source>Width</source>
        <translation>宽度</translation>
    </message>
    <message>
        <source>reference low-passed at {hz} Hz (a codec): nothing above copied</source>
        <translation>参考在 {hz} Hz 处被低通（编码器所致）：其上不复制</translation>
    </message>
    <message>
        <source>reference clipped ({pct} of samples at full scale)</source>
        <translation>参考有削波（{pct} 的采样处于满刻度）</translation>
    </message>
    <message>
        <source>reference over-limited (peak-to-loudness {db} dB)</source>
        <translation>参考限幅过度（峰值响度比 {db} dB）</translation>
    </message>
    <message>
        <source>reference nearly mono (side {db} dB below mid)</source>
        <translation>参考接近单声道（侧声道比中置低 {db} dB）</translation>
    </message>
    <message>
        <source>by its similarity to the target</source>
        <translation>按与目标的相似度</translation>
    </message>
</context>
<context>
    <name>DropZone</name>
    <message>
        <source>Browse…</source>
        <translation>浏览…</translation>
    </message>
    <message>
        <source>Remove</source>
        <translation>移除</translation>
    </message>
    <message>
        <source>Weight of the selected reference: with several references the target is corrected only outside their range; a lower weight narrows this reference&apos;s side of the range</source>
        <translation>所选参考的权重：有多个参考时，仅校正目标超出其范围的部分；权重越低，该参考一侧的范围越窄</translation>
    </message>
    <message>
        <source>Weight</source>
        <translation>权重</translation>
    </message>
</context>
<context>
    <name>DynamicsView</name>
    <message>
        <source>Reference</source>
        <translation>参考</translation>
    </message>
    <message>
        <source>Target (before)</source>
        <translation>目标（处理前）</translation>
    </message>
    <message>
        <source>Result (after)</source>
        <translation>结果（处理后）</translation>
    </message>
    <message>
        <source>Dynamics: short-term loudness distribution</source>
        <translation>动态：短期响度分布</translation>
    </message>
    <message>
        <source>Short-term loudness (LUFS)</source>
        <translation>短期响度 (LUFS)</translation>
    </message>
    <message>
        <source>Share of time (%)</source>
        <translation>时间占比 (%)</translation>
    </message>
</context>
<context>
    <name>ExportDialog</name>
    <message>
        <source>WAV 16-bit (dithered)</source>
        <translation>WAV 16 位（加抖动）</translation>
    </message>
    <message>
        <source>WAV 24-bit (dithered)</source>
        <translation>WAV 24 位（加抖动）</translation>
    </message>
    <message>
        <source>WAV 32-bit float</source>
        <translation>WAV 32 位浮点</translation>
    </message>
    <message>
        <source>FLAC</source>
        <translation>FLAC</translation>
    </message>
    <message>
        <source>JSON (audio-style)</source>
        <translation>JSON（audio-style）</translation>
    </message>
    <message>
        <source>Equalizer APO</source>
        <translation>Equalizer APO</translation>
    </message>
    <message>
        <source>GraphicEQ</source>
        <translation>GraphicEQ</translation>
    </message>
    <message>
        <source>CSV curve</source>
        <translation>CSV 曲线</translation>
    </message>
    <message>
        <source>Impulse response (WAV)</source>
        <translation>脉冲响应（WAV）</translation>
    </message>
    <message>
        <source>ffmpeg filter chain</source>
        <translation>ffmpeg 滤镜链</translation>
    </message>
    <message>
        <source>Export</source>
        <translation>导出</translation>
    </message>
    <message>
        <source>Browse…</source>
        <translation>浏览…</translation>
    </message>
    <message>
        <source>Audio</source>
        <translation>音频</translation>
    </message>
    <message>
        <source>Report (PNG of the curves and meters + JSON)</source>
        <translation>报告（曲线和表头的 PNG 图片 + JSON）</translation>
    </message>
    <message>
        <source>Batch: match every target in the list ({n})</source>
        <translation>批量：匹配列表中的所有目标（{n} 个）</translation>
    </message>
    <message>
        <source>Each target is matched to the reference(s) with the current settings; band edits apply to the current target only</source>
        <translation>每个目标都按当前设置匹配到参考曲目；手动修改的频段只作用于当前目标</translation>
    </message>
    <message>
        <source>Album mode: keep the tracks&apos; relative loudness and one tonal signature</source>
        <translation>专辑模式：保持各曲目的相对响度和统一的音色特征</translation>
    </message>
    <message>
        <source>The targets are planned together: a quiet track stays quieter by the same LU, broad tonal differences between tracks are evened out; writes an album report (loudness, LRA, true peak, tonal distance per track)</source>
        <translation>所有目标统一规划：较安静的曲目保持同样的 LU 差距，曲目间的大致音色差异被拉平；写出专辑报告（每首曲目的响度、响度范围、真峰值、音色距离）</translation>
    </message>
    <message>
        <source>What to write</source>
        <translation>导出内容</translation>
    </message>
    <message>
        <source>Folder</source>
        <translation>文件夹</translation>
    </message>
    <message>
        <source>Preset</source>
        <translation>预设</translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation>取消</translation>
    </message>
    <message>
        <source>Files that will be written (existing ones are replaced):</source>
        <translation>将要写入的文件（已存在的文件会被替换）：</translation>
    </message>
    <message>
        <source>Export folder</source>
        <translation>导出文件夹</translation>
    </message>
</context>
<context>
    <name>JobsPanel</name>
    <message>
        <source>Not signed in</source>
        <translation>未登录</translation>
    </message>
    <message>
        <source>Account…</source>
        <translation>账户…</translation>
    </message>
    <message>
        <source>Server and sign-in for cloud processing</source>
        <translation>云端处理的服务器和登录</translation>
    </message>
    <message>
        <source>Job</source>
        <translation>任务</translation>
    </message>
    <message>
        <source>Progress</source>
        <translation>进度</translation>
    </message>
    <message>
        <source>No cloud jobs. Tick “Process in the cloud” and press Match to send one.</source>
        <translation>没有云端任务。勾选“在云端处理”后按“匹配”即可提交。</translation>
    </message>
    <message>
        <source>Cancel job</source>
        <translation>取消任务</translation>
    </message>
    <message>
        <source>Stop the upload or cancel the job on the server</source>
        <translation>停止上传，或取消服务器上的任务</translation>
    </message>
    <message>
        <source>Download…</source>
        <translation>下载…</translation>
    </message>
    <message>
        <source>Save the result audio and preset to a folder</source>
        <translation>将结果音频和预设保存到文件夹</translation>
    </message>
    <message>
        <source>Open result</source>
        <translation>打开结果</translation>
    </message>
    <message>
        <source>Show the result in the views, like a local match</source>
        <translation>像本地匹配一样在视图中显示结果</translation>
    </message>
    <message>
        <source>Refresh</source>
        <translation>刷新</translation>
    </message>
    <message>
        <source>List the jobs of this account</source>
        <translation>列出此账户的任务</translation>
    </message>
    <message>
        <source>uploading</source>
        <translation>上传中</translation>
    </message>
    <message>
        <source>queued</source>
        <translation>排队中</translation>
    </message>
    <message>
        <source>running</source>
        <translation>处理中</translation>
    </message>
    <message>
        <source>canceling</source>
        <translation>正在取消</translation>
    </message>
    <message>
        <source>finished</source>
        <translation>已完成</translation>
    </message>
    <message>
        <source>failed</source>
        <translation>失败</translation>
    </message>
    <message>
        <source>canceled</source>
        <translation>已取消</translation>
    </message>
    <message>
        <source>Save the cloud results in</source>
        <translation>云端结果保存到</translation>
    </message>
</context>
<context>
    <name>LoudnessView</name>
    <message>
        <source>Integrated (LUFS)</source>
        <translation>综合响度 (LUFS)</translation>
    </message>
    <message>
        <source>Loudness range (LU)</source>
        <translation>响度范围 (LU)</translation>
    </message>
    <message>
        <source>True peak (dBTP)</source>
        <translation>真峰值 (dBTP)</translation>
    </message>
    <message>
        <source>PLR (dB)</source>
        <translation>PLR 峰响比 (dB)</translation>
    </message>
    <message>
        <source>Crest factor (dB)</source>
        <translation>峰值因数 (dB)</translation>
    </message>
    <message>
        <source>Width S/M (dB)</source>
        <translation>宽度 S/M (dB)</translation>
    </message>
    <message>
        <source>Correlation</source>
        <translation>相关性</translation>
    </message>
    <message>
        <source>Reference</source>
        <translation>参考</translation>
    </message>
    <message>
        <source>Target</source>
        <translation>目标</translation>
    </message>
    <message>
        <source>Result</source>
        <translation>结果</translation>
    </message>
</context>
<context>
    <name>MainController</name>
    <message>
        <source>Checking files</source>
        <translation>正在检查文件</translation>
    </message>
    <message>
        <source>Loading {name}</source>
        <translation>正在载入 {name}</translation>
    </message>
    <message>
        <source>Automatic computes on the GPU (CUDA) here.</source>
        <translation>“自动”在本机使用 GPU（CUDA）计算。</translation>
    </message>
    <message>
        <source>Automatic computes on the CPU here: {reason}.</source>
        <translation>“自动”在本机使用 CPU 计算：{reason}。</translation>
    </message>
    <message>
        <source>Add a reference and a target first.</source>
        <translation>请先添加参考曲目和目标曲目。</translation>
    </message>
    <message>
        <source>Match finished.</source>
        <translation>匹配完成。</translation>
    </message>
    <message>
        <source>Matching {name}</source>
        <translation>正在匹配 {name}</translation>
    </message>
    <message>
        <source>{target:.1f} LUFS would need more than {budget:g} dB of limiting (Max limiting); left at {lufs:.1f} LUFS.</source>
        <translation>达到 {target:.1f} LUFS 需要超过 {budget:g} dB 的限幅（最大限幅）；停在 {lufs:.1f} LUFS。</translation>
    </message>
    <message>
        <source>{target:.1f} LUFS took the clip stage besides the limiter (up to {clip:g} dB of every peak).</source>
        <translation>达到 {target:.1f} LUFS 除限幅器外还用了削波级（每个峰值最多 {clip:g} dB）。</translation>
    </message>
    <message>
        <source>Result of {name} opened.</source>
        <translation>已打开 {name} 的结果。</translation>
    </message>
    <message>
        <source>Opening the result of {name}</source>
        <translation>正在打开 {name} 的结果</translation>
    </message>
    <message>
        <source>Preview is available for mono and stereo files only.</source>
        <translation>预览仅支持单声道和立体声文件。</translation>
    </message>
    <message>
        <source>Rendering the loop preview</source>
        <translation>正在渲染循环区域预览</translation>
    </message>
    <message>
        <source>Match first, then export.</source>
        <translation>请先匹配，再导出。</translation>
    </message>
    <message>
        <source>Exported {n} files to {folder}</source>
        <translation>已导出 {n} 个文件到 {folder}</translation>
    </message>
    <message>
        <source>Exporting</source>
        <translation>正在导出</translation>
    </message>
    <message>
        <source>Batch finished: {n} targets, {files} files written.</source>
        <translation>批量处理完成：{n} 个目标，已写入 {files} 个文件。</translation>
    </message>
    <message>
        <source>Album: loudness spread {spread:.1f} LU (input {spread_in:.1f} LU), tonal distance to the album {dist:.2f} dB (input {dist_in:.2f} dB)</source>
        <translation>专辑：响度差 {spread:.1f} LU（输入 {spread_in:.1f} LU），与专辑平均音色距离 {dist:.2f} dB（输入 {dist_in:.2f} dB）</translation>
    </message>
    <message>
        <source>Batch: matching every target</source>
        <translation>批量：正在匹配所有目标</translation>
    </message>
    <message>
        <source>No result yet: press Match first.</source>
        <translation>还没有结果：请先点击“匹配”。</translation>
    </message>
    <message>
        <source>Canceled.</source>
        <translation>已取消。</translation>
    </message>
    <message>
        <source>checking</source>
        <translation>检查</translation>
    </message>
    <message>
        <source>analysing</source>
        <translation>分析</translation>
    </message>
    <message>
        <source>decoding</source>
        <translation>解码</translation>
    </message>
    <message>
        <source>planning</source>
        <translation>规划</translation>
    </message>
    <message>
        <source>equalising</source>
        <translation>均衡处理</translation>
    </message>
    <message>
        <source>planning gain</source>
        <translation>计算增益</translation>
    </message>
    <message>
        <source>rendering</source>
        <translation>渲染</translation>
    </message>
    <message>
        <source>uploading</source>
        <translation>上传中</translation>
    </message>
    <message>
        <source>downloading</source>
        <translation>下载中</translation>
    </message>
    <message>
        <source>checking delivery</source>
        <translation>交付检查</translation>
    </message>
    <message>
        <source>done</source>
        <translation>完成</translation>
    </message>
</context>
<context>
    <name>MainWindow</name>
    <message>
        <source>audio-style — reference matching</source>
        <translation>audio-style — 参考曲目匹配</translation>
    </message>
    <message>
        <source>Reference</source>
        <translation>参考</translation>
    </message>
    <message>
        <source>Drop the track(s) whose sound you want here</source>
        <translation>把你想要的声音的曲目拖到这里</translation>
    </message>
    <message>
        <source>Targets</source>
        <translation>目标</translation>
    </message>
    <message>
        <source>Drop your own track(s) here; several = batch</source>
        <translation>把你自己的曲目拖到这里；多个即为批量</translation>
    </message>
    <message>
        <source>Files</source>
        <translation>文件</translation>
    </message>
    <message>
        <source>Match</source>
        <translation>匹配</translation>
    </message>
    <message>
        <source>Loudness</source>
        <translation>响度</translation>
    </message>
    <message>
        <source>Delivery</source>
        <translation>交付</translation>
    </message>
    <message>
        <source>Cloud jobs</source>
        <translation>云端任务</translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation>取消</translation>
    </message>
    <message>
        <source>&amp;File</source>
        <translation>文件(&amp;F)</translation>
    </message>
    <message>
        <source>Open &amp;reference…</source>
        <translation>打开参考曲目(&amp;R)…</translation>
    </message>
    <message>
        <source>&amp;Open target…</source>
        <translation>打开目标曲目(&amp;O)…</translation>
    </message>
    <message>
        <source>Recent &amp;files</source>
        <translation>最近的文件(&amp;F)</translation>
    </message>
    <message>
        <source>&amp;Export…</source>
        <translation>导出(&amp;E)…</translation>
    </message>
    <message>
        <source>&amp;Settings…</source>
        <translation>设置(&amp;S)…</translation>
    </message>
    <message>
        <source>&amp;Quit</source>
        <translation>退出(&amp;Q)</translation>
    </message>
    <message>
        <source>&amp;Match</source>
        <translation>匹配(&amp;M)</translation>
    </message>
    <message>
        <source>&amp;Cancel</source>
        <translation>取消(&amp;C)</translation>
    </message>
    <message>
        <source>&amp;Playback</source>
        <translation>播放(&amp;P)</translation>
    </message>
    <message>
        <source>Play / pause</source>
        <translation>播放 / 暂停</translation>
    </message>
    <message>
        <source>Target</source>
        <translation>目标</translation>
    </message>
    <message>
        <source>Result</source>
        <translation>结果</translation>
    </message>
    <message>
        <source>Loop</source>
        <translation>循环</translation>
    </message>
    <message>
        <source>Loudness-matched</source>
        <translation>响度对齐</translation>
    </message>
    <message>
        <source>&amp;Cloud</source>
        <translation>云端(&amp;C)</translation>
    </message>
    <message>
        <source>Process in the &amp;cloud</source>
        <translation>在云端处理(&amp;C)</translation>
    </message>
    <message>
        <source>&amp;Account…</source>
        <translation>账户(&amp;A)…</translation>
    </message>
    <message>
        <source>&amp;View</source>
        <translation>视图(&amp;V)</translation>
    </message>
    <message>
        <source>&amp;Help</source>
        <translation>帮助(&amp;H)</translation>
    </message>
    <message>
        <source>&amp;About audio-style</source>
        <translation>关于 audio-style(&amp;A)</translation>
    </message>
    <message>
        <source>Process in the cloud</source>
        <translation>在云端处理</translation>
    </message>
    <message>
        <source>Cloud processing is not possible right now: {reason}
Your files and settings are unchanged; you can process on this computer instead.</source>
        <translation>目前无法在云端处理：{reason}
您的文件和设置均未改变；可以改为在这台电脑上处理。</translation>
    </message>
    <message>
        <source>Process on this computer</source>
        <translation>在这台电脑上处理</translation>
    </message>
    <message>
        <source>Open reference tracks</source>
        <translation>打开参考曲目</translation>
    </message>
    <message>
        <source>Open target tracks</source>
        <translation>打开目标曲目</translation>
    </message>
    <message>
        <source>Audio files ({exts})</source>
        <translation>音频文件 ({exts})</translation>
    </message>
    <message>
        <source>All files (*)</source>
        <translation>所有文件 (*)</translation>
    </message>
    <message>
        <source>(none)</source>
        <translation>（无）</translation>
    </message>
    <message>
        <source>Reference: {name}</source>
        <translation>参考：{name}</translation>
    </message>
    <message>
        <source>Target: {name}</source>
        <translation>目标：{name}</translation>
    </message>
    <message>
        <source>No audio output.</source>
        <translation>没有音频输出。</translation>
    </message>
    <message>
        <source>Match first, then export.</source>
        <translation>请先匹配，再导出。</translation>
    </message>
    <message>
        <source>The new language applies after restarting audio-style.</source>
        <translation>新的语言将在重新启动 audio-style 后生效。</translation>
    </message>
    <message>
        <source>About audio-style</source>
        <translation>关于 audio-style</translation>
    </message>
    <message>
        <source>audio-style matches the EQ, loudness, dynamics and stereo width of your track to a reference track.</source>
        <translation>audio-style 让你的曲目在均衡、响度、动态和立体声宽度上匹配参考曲目。</translation>
    </message>
    <message>
        <source>Preview updated for {start}–{end} s; the full render happens on export.</source>
        <translation>已更新 {start}–{end} 秒的预览；完整渲染在导出时进行。</translation>
    </message>
    <message>
        <source>Exported {n} files to {folder}</source>
        <translation>已导出 {n} 个文件到 {folder}</translation>
    </message>
</context>
<context>
    <name>MessageBar</name>
    <message>
        <source>Dismiss</source>
        <translation>关闭</translation>
    </message>
    <message>
        <source>Error: </source>
        <translation>错误：</translation>
    </message>
</context>
<context>
    <name>SettingsDialog</name>
    <message>
        <source>Settings</source>
        <translation>设置</translation>
    </message>
    <message>
        <source>Automatic (system language)</source>
        <translation>自动（跟随系统语言）</translation>
    </message>
    <message>
        <source>Automatic</source>
        <translation>自动</translation>
    </message>
    <message>
        <source>CPU</source>
        <translation>CPU</translation>
    </message>
    <message>
        <source>GPU</source>
        <translation>GPU</translation>
    </message>
    <message>
        <source>System default</source>
        <translation>系统默认</translation>
    </message>
    <message>
        <source>Off</source>
        <translation>关闭</translation>
    </message>
    <message>
        <source>Lower the limiter&apos;s ceiling until the result stays under it after this codec&apos;s encode and decode (measured).</source>
        <translation>逐步降低限幅器上限，直到结果经此编码器编解码后仍不超过上限（实测）。</translation>
    </message>
    <message>
        <source>A new language applies after restarting the app.</source>
        <translation>新的语言将在重新启动程序后生效。</translation>
    </message>
    <message>
        <source>Language</source>
        <translation>语言</translation>
    </message>
    <message>
        <source>Processing device</source>
        <translation>处理设备</translation>
    </message>
    <message>
        <source>Audio output</source>
        <translation>音频输出</translation>
    </message>
    <message>
        <source>Default audio format</source>
        <translation>默认音频格式</translation>
    </message>
    <message>
        <source>Codec-safe ceiling</source>
        <translation>编码安全上限</translation>
    </message>
    <message>
        <source>OK</source>
        <translation>确定</translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation>取消</translation>
    </message>
</context>
<context>
    <name>ShortTermView</name>
    <message>
        <source>Short-term loudness</source>
        <translation>短期响度</translation>
    </message>
    <message>
        <source>Time (s)</source>
        <translation>时间 (秒)</translation>
    </message>
    <message>
        <source>LUFS</source>
        <translation>LUFS</translation>
    </message>
</context>
<context>
    <name>SpectrumView</name>
    <message>
        <source>Reference mid</source>
        <translation>参考 中声道</translation>
    </message>
    <message>
        <source>Reference side</source>
        <translation>参考 侧声道</translation>
    </message>
    <message>
        <source>Target mid</source>
        <translation>目标 中声道</translation>
    </message>
    <message>
        <source>Target side</source>
        <translation>目标 侧声道</translation>
    </message>
    <message>
        <source>Result mid</source>
        <translation>结果 中声道</translation>
    </message>
    <message>
        <source>Result side</source>
        <translation>结果 侧声道</translation>
    </message>
    <message>
        <source>Spectrum (mid / side)</source>
        <translation>频谱（中声道 / 侧声道）</translation>
    </message>
    <message>
        <source>Frequency (Hz)</source>
        <translation>频率 (Hz)</translation>
    </message>
    <message>
        <source>Level (dB)</source>
        <translation>电平 (dB)</translation>
    </message>
    <message>
        <source>Mid</source>
        <translation>中声道</translation>
    </message>
    <message>
        <source>Side</source>
        <translation>侧声道</translation>
    </message>
    <message>
        <source>Align levels</source>
        <translation>对齐电平</translation>
    </message>
    <message>
        <source>Shift each spectrum by its integrated loudness</source>
        <translation>按各自的综合响度平移每条频谱</translation>
    </message>
    <message>
        <source>Range of the references (corrected only outside it)</source>
        <translation>参考曲目的范围（仅校正超出该范围的部分）</translation>
    </message>
    <message>
        <source>Level re. loudness (dB)</source>
        <translation>相对响度的电平 (dB)</translation>
    </message>
</context>
<context>
    <name>TransportBar</name>
    <message>
        <source>Play</source>
        <translation>播放</translation>
    </message>
    <message>
        <source>Play / pause (Space)</source>
        <translation>播放 / 暂停（空格）</translation>
    </message>
    <message>
        <source>1  Target</source>
        <translation>1  目标</translation>
    </message>
    <message>
        <source>2  Result</source>
        <translation>2  结果</translation>
    </message>
    <message>
        <source>3  Reference</source>
        <translation>3  参考</translation>
    </message>
    <message>
        <source>Listen to the target (key 1)</source>
        <translation>试听目标（按键 1）</translation>
    </message>
    <message>
        <source>Listen to the matched result (key 2)</source>
        <translation>试听匹配结果（按键 2）</translation>
    </message>
    <message>
        <source>Listen to the reference (key 3)</source>
        <translation>试听参考（按键 3）</translation>
    </message>
    <message>
        <source>Loop</source>
        <translation>循环</translation>
    </message>
    <message>
        <source>Loop the selected region (L)</source>
        <translation>循环播放选定区域（L）</translation>
    </message>
    <message>
        <source>Loudness-matched</source>
        <translation>响度对齐</translation>
    </message>
    <message>
        <source>Play every source at the same integrated loudness, so louder never wins</source>
        <translation>以相同的综合响度播放所有音源，避免“越响越好听”的错觉</translation>
    </message>
    <message>
        <source>Pause</source>
        <translation>暂停</translation>
    </message>
</context>
<context>
    <name>WaveformView</name>
    <message>
        <source>Reference</source>
        <translation>参考</translation>
    </message>
    <message>
        <source>Target</source>
        <translation>目标</translation>
    </message>
    <message>
        <source>Result</source>
        <translation>结果</translation>
    </message>
    <message>
        <source>Waveform</source>
        <translation>波形</translation>
    </message>
    <message>
        <source>Time (s)</source>
        <translation>时间 (秒)</translation>
    </message>
</context>
</TS>
