<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="en" sourcelanguage="en">
<context>
    <name>AccountDialog</name>
    <message>
        <source>Cloud account</source>
        <translation>Cloud account</translation>
    </message>
    <message>
        <source>Your session is kept in the system keyring (or a file only you can read); the password is not stored.</source>
        <translation>Your session is kept in the system keyring (or a file only you can read); the password is not stored.</translation>
    </message>
    <message>
        <source>Server</source>
        <translation>Server</translation>
    </message>
    <message>
        <source>Account</source>
        <translation>Account</translation>
    </message>
    <message>
        <source>Password</source>
        <translation>Password</translation>
    </message>
    <message>
        <source>Sign in</source>
        <translation>Sign in</translation>
    </message>
    <message>
        <source>Sign out</source>
        <translation>Sign out</translation>
    </message>
    <message>
        <source>Close</source>
        <translation>Close</translation>
    </message>
</context>
<context>
    <name>AudioOutput</name>
    <message>
        <source>Cannot open the audio output: {reason}</source>
        <translation>Cannot open the audio output: {reason}</translation>
    </message>
    <message>
        <source>No audio output: the PortAudio library is missing (install libportaudio2). Everything else works.</source>
        <translation>No audio output: the PortAudio library is missing (install libportaudio2). Everything else works.</translation>
    </message>
    <message>
        <source>No audio output: python-sounddevice is not installed.</source>
        <translation>No audio output: python-sounddevice is not installed.</translation>
    </message>
    <message>
        <source>No audio output device was found.</source>
        <translation>No audio output device was found.</translation>
    </message>
</context>
<context>
    <name>CloudController</name>
    <message>
        <source>Signed in as {user} on {server}</source>
        <translation>Signed in as {user} on {server}</translation>
    </message>
    <message>
        <source>Not signed in</source>
        <translation>Not signed in</translation>
    </message>
    <message>
        <source>Enter the account name and the password.</source>
        <translation>Enter the account name and the password.</translation>
    </message>
    <message>
        <source>Signing in to {server}</source>
        <translation>Signing in to {server}</translation>
    </message>
    <message>
        <source>Signed out on this computer (the server was not reached).</source>
        <translation>Signed out on this computer (the server was not reached).</translation>
    </message>
    <message>
        <source>Signing out</source>
        <translation>Signing out</translation>
    </message>
    <message>
        <source>Sign in to process in the cloud.</source>
        <translation>Sign in to process in the cloud.</translation>
    </message>
    <message>
        <source>A big job: {n} target(s), {length} of audio in all. Processing it in the cloud keeps this computer free.</source>
        <translation>A big job: {n} target(s), {length} of audio in all. Processing it in the cloud keeps this computer free.</translation>
    </message>
    <message>
        <source>Add a reference and a target first.</source>
        <translation>Add a reference and a target first.</translation>
    </message>
    <message>
        <source>Submitted to the cloud as job {job}.</source>
        <translation>Submitted to the cloud as job {job}.</translation>
    </message>
    <message>
        <source>Upload canceled; nothing was submitted.</source>
        <translation>Upload canceled; nothing was submitted.</translation>
    </message>
    <message>
        <source>Uploading to the cloud: {name}</source>
        <translation>Uploading to the cloud: {name}</translation>
    </message>
    <message>
        <source>{reason} Your cloud jobs are kept; checking again shortly.</source>
        <translation>{reason} Your cloud jobs are kept; checking again shortly.</translation>
    </message>
    <message>
        <source>Cloud job {name} failed: {reason}</source>
        <translation>Cloud job {name} failed: {reason}</translation>
    </message>
    <message>
        <source>Cloud job {name} finished.</source>
        <translation>Cloud job {name} finished.</translation>
    </message>
    <message>
        <source>Downloaded {n} files to {folder}</source>
        <translation>Downloaded {n} files to {folder}</translation>
    </message>
    <message>
        <source>Downloading the result of {name}</source>
        <translation>Downloading the result of {name}</translation>
    </message>
    <message>
        <source>saved to {folder}</source>
        <translation>saved to {folder}</translation>
    </message>
    <message>
        <source>{name}: {lufs} LUFS, {tp} dBTP</source>
        <translation>{name}: {lufs} LUFS, {tp} dBTP</translation>
    </message>
    <message>
        <source>; after {codec}: {tp} dBTP</source>
        <translation>; after {codec}: {tp} dBTP</translation>
    </message>
    <message>
        <source>the codec</source>
        <translation>the codec</translation>
    </message>
</context>
<context>
    <name>ControlsPanel</name>
    <message>
        <source>Overall</source>
        <translation>Overall</translation>
    </message>
    <message>
        <source>EQ</source>
        <translation>EQ</translation>
    </message>
    <message>
        <source>Dynamics</source>
        <translation>Dynamics</translation>
    </message>
    <message>
        <source>Width</source>
        <translation>Width</translation>
    </message>
    <message>
        <source>Loudness</source>
        <translation>Loudness</translation>
    </message>
    <message>
        <source>Scales every aspect of the match</source>
        <translation>Scales every aspect of the match</translation>
    </message>
    <message>
        <source>How much of the tonal balance (EQ curve) is matched</source>
        <translation>How much of the tonal balance (EQ curve) is matched</translation>
    </message>
    <message>
        <source>How much of the reference's dynamics is matched</source>
        <translation>How much of the reference's dynamics is matched</translation>
    </message>
    <message>
        <source>How much of the reference's stereo width is matched</source>
        <translation>How much of the reference's stereo width is matched</translation>
    </message>
    <message>
        <source>How much of the loudness difference is matched</source>
        <translation>How much of the loudness difference is matched</translation>
    </message>
    <message>
        <source>Amount</source>
        <translation>Amount</translation>
    </message>
    <message>
        <source>{value} %</source>
        <translation>{value} %</translation>
    </message>
    <message>
        <source>Limits</source>
        <translation>Limits</translation>
    </message>
    <message>
        <source>Auto</source>
        <translation>Auto</translation>
    </message>
    <message>
        <source> oct</source>
        <translation> oct</translation>
    </message>
    <message>
        <source>EQ curve smoothing in octaves; Auto picks it from how much to trust the reference</source>
        <translation>EQ curve smoothing in octaves; Auto picks it from how much to trust the reference</translation>
    </message>
    <message>
        <source>Smoothing</source>
        <translation>Smoothing</translation>
    </message>
    <message>
        <source>Limiter</source>
        <translation>Limiter</translation>
    </message>
    <message>
        <source>Ceiling</source>
        <translation>Ceiling</translation>
    </message>
    <message>
        <source>Most limiting the loudness target may take; past it the result stays quieter than the target</source>
        <translation>Most limiting the loudness target may take; past it the result stays quieter than the target</translation>
    </message>
    <message>
        <source>Max limiting</source>
        <translation>Max limiting</translation>
    </message>
    <message>
        <source>Override</source>
        <translation>Override</translation>
    </message>
    <message>
        <source>Use this loudness instead of the reference's</source>
        <translation>Use this loudness instead of the reference's</translation>
    </message>
    <message>
        <source>Target loudness</source>
        <translation>Target loudness</translation>
    </message>
    <message>
        <source>Match</source>
        <translation>Match</translation>
    </message>
    <message>
        <source>Analyse, plan and render the match (Ctrl+M)</source>
        <translation>Analyse, plan and render the match (Ctrl+M)</translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation>Cancel</translation>
    </message>
    <message>
        <source>Process in the cloud</source>
        <translation>Process in the cloud</translation>
    </message>
    <message>
        <source>Upload every target with the references to your audio-style server and process them there; the jobs panel follows them</source>
        <translation>Upload every target with the references to your audio-style server and process them there; the jobs panel follows them</translation>
    </message>
    <message>
        <source>Match in the cloud</source>
        <translation>Match in the cloud</translation>
    </message>
</context>
<context>
    <name>CurveView</name>
    <message>
        <source>Peak</source>
        <translation>Peak</translation>
    </message>
    <message>
        <source>Low shelf</source>
        <translation>Low shelf</translation>
    </message>
    <message>
        <source>High shelf</source>
        <translation>High shelf</translation>
    </message>
    <message>
        <source>Mid</source>
        <translation>Mid</translation>
    </message>
    <message>
        <source>Side</source>
        <translation>Side</translation>
    </message>
    <message>
        <source>{channel} {kind}: {freq} Hz, {gain} dB, Q {q}</source>
        <translation>{channel} {kind}: {freq} Hz, {gain} dB, Q {q}</translation>
    </message>
    <message>
        <source>Match curve (EQ change)</source>
        <translation>Match curve (EQ change)</translation>
    </message>
    <message>
        <source>Frequency (Hz)</source>
        <translation>Frequency (Hz)</translation>
    </message>
    <message>
        <source>Gain (dB)</source>
        <translation>Gain (dB)</translation>
    </message>
    <message>
        <source>Drag a band to change its frequency and gain; wheel: Q.</source>
        <translation>Drag a band to change its frequency and gain; wheel: Q.</translation>
    </message>
    <message>
        <source>{n} bands · fit error {err} dB · smoothing {smooth} oct · reference trust {trust}</source>
        <translation>{n} bands · fit error {err} dB · smoothing {smooth} oct · reference trust {trust}</translation>
    </message>
</context>
<context>
    <name>DeliveryController</name>
    <message>
        <source>Checking delivery</source>
        <translation>Checking delivery</translation>
    </message>
</context>
<context>
    <name>DeliveryPanel</name>
    <message>
        <source>Match a target to see how it fares on streaming services.</source>
        <translation>Match a target to see how it fares on streaming services.</translation>
    </message>
    <message>
        <source>Service</source>
        <translation>Service</translation>
    </message>
    <message>
        <source>Normalises to</source>
        <translation>Normalises to</translation>
    </message>
    <message>
        <source>Gain</source>
        <translation>Gain</translation>
    </message>
    <message>
        <source>Plays at</source>
        <translation>Plays at</translation>
    </message>
    <message>
        <source>Codec</source>
        <translation>Codec</translation>
    </message>
    <message>
        <source>Peak after codec</source>
        <translation>Peak after codec</translation>
    </message>
    <message>
        <source>Check</source>
        <translation>Check</translation>
    </message>
    <message>
        <source>Value</source>
        <translation>Value</translation>
    </message>
    <message>
        <source>Verdict</source>
        <translation>Verdict</translation>
    </message>
    <message>
        <source>Reference use</source>
        <translation>Reference use</translation>
    </message>
    <message>
        <source>True peak</source>
        <translation>True peak</translation>
    </message>
    <message>
        <source>Inter-sample overs</source>
        <translation>Inter-sample overs</translation>
    </message>
    <message>
        <source>Mono fold-down</source>
        <translation>Mono fold-down</translation>
    </message>
    <message>
        <source>Cancels in mono</source>
        <translation>Cancels in mono</translation>
    </message>
    <message>
        <source>Min. correlation (3 s)</source>
        <translation>Min. correlation (3 s)</translation>
    </message>
    <message>
        <source>Clipped samples</source>
        <translation>Clipped samples</translation>
    </message>
    <message>
        <source>DC offset</source>
        <translation>DC offset</translation>
    </message>
    <message>
        <source>Checking delivery (codec round trips)…</source>
        <translation>Checking delivery (codec round trips)…</translation>
    </message>
    <message>
        <source>{n} delivery check(s) failed; see the red rows.</source>
        <translation>{n} delivery check(s) failed; see the red rows.</translation>
    </message>
    <message>
        <source>All delivery checks passed.</source>
        <translation>All delivery checks passed.</translation>
    </message>
    <message>
        <source>none</source>
        <translation>none</translation>
    </message>
    <message>
        <source>ok</source>
        <translation>ok</translation>
    </message>
    <message>
        <source>fails</source>
        <translation>fails</translation>
    </message>
    <message>
        <source>Service data: {source}</source>
        <translation>Service data: {source}</translation>
    </message>
    <message>
        <source>EQ</source>
        <translation>EQ</translation>
    </message>
    <message>
        <source>Dynamics</source>
        <translation>Dynamics</translation>
    </message>
    <message>
        <source>Width</source>
        <translation>Width</translation>
    </message>
    <message>
        <source>reference low-passed at {hz} Hz (a codec): nothing above copied</source>
        <translation>reference low-passed at {hz} Hz (a codec): nothing above copied</translation>
    </message>
    <message>
        <source>reference clipped ({pct} of samples at full scale)</source>
        <translation>reference clipped ({pct} of samples at full scale)</translation>
    </message>
    <message>
        <source>reference over-limited (peak-to-loudness {db} dB)</source>
        <translation>reference over-limited (peak-to-loudness {db} dB)</translation>
    </message>
    <message>
        <source>reference nearly mono (side {db} dB below mid)</source>
        <translation>reference nearly mono (side {db} dB below mid)</translation>
    </message>
    <message>
        <source>by its similarity to the target</source>
        <translation>by its similarity to the target</translation>
    </message>
</context>
<context>
    <name>DropZone</name>
    <message>
        <source>Browse…</source>
        <translation>Browse…</translation>
    </message>
    <message>
        <source>Remove</source>
        <translation>Remove</translation>
    </message>
    <message>
        <source>Weight of the selected reference: with several references the target is corrected only outside their range; a lower weight narrows this reference's side of the range</source>
        <translation>Weight of the selected reference: with several references the target is corrected only outside their range; a lower weight narrows this reference's side of the range</translation>
    </message>
    <message>
        <source>Weight</source>
        <translation>Weight</translation>
    </message>
</context>
<context>
    <name>DynamicsView</name>
    <message>
        <source>Reference</source>
        <translation>Reference</translation>
    </message>
    <message>
        <source>Target (before)</source>
        <translation>Target (before)</translation>
    </message>
    <message>
        <source>Result (after)</source>
        <translation>Result (after)</translation>
    </message>
    <message>
        <source>Dynamics: short-term loudness distribution</source>
        <translation>Dynamics: short-term loudness distribution</translation>
    </message>
    <message>
        <source>Short-term loudness (LUFS)</source>
        <translation>Short-term loudness (LUFS)</translation>
    </message>
    <message>
        <source>Share of time (%)</source>
        <translation>Share of time (%)</translation>
    </message>
</context>
<context>
    <name>ExportDialog</name>
    <message>
        <source>WAV 16-bit (dithered)</source>
        <translation>WAV 16-bit (dithered)</translation>
    </message>
    <message>
        <source>WAV 24-bit (dithered)</source>
        <translation>WAV 24-bit (dithered)</translation>
    </message>
    <message>
        <source>WAV 32-bit float</source>
        <translation>WAV 32-bit float</translation>
    </message>
    <message>
        <source>FLAC</source>
        <translation>FLAC</translation>
    </message>
    <message>
        <source>JSON (audio-style)</source>
        <translation>JSON (audio-style)</translation>
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
        <translation>CSV curve</translation>
    </message>
    <message>
        <source>Impulse response (WAV)</source>
        <translation>Impulse response (WAV)</translation>
    </message>
    <message>
        <source>ffmpeg filter chain</source>
        <translation>ffmpeg filter chain</translation>
    </message>
    <message>
        <source>Export</source>
        <translation>Export</translation>
    </message>
    <message>
        <source>Browse…</source>
        <translation>Browse…</translation>
    </message>
    <message>
        <source>Audio</source>
        <translation>Audio</translation>
    </message>
    <message>
        <source>Report (PNG of the curves and meters + JSON)</source>
        <translation>Report (PNG of the curves and meters + JSON)</translation>
    </message>
    <message>
        <source>Batch: match every target in the list ({n})</source>
        <translation>Batch: match every target in the list ({n})</translation>
    </message>
    <message>
        <source>Each target is matched to the reference(s) with the current settings; band edits apply to the current target only</source>
        <translation>Each target is matched to the reference(s) with the current settings; band edits apply to the current target only</translation>
    </message>
    <message>
        <source>Album mode: keep the tracks' relative loudness and one tonal signature</source>
        <translation>Album mode: keep the tracks' relative loudness and one tonal signature</translation>
    </message>
    <message>
        <source>The targets are planned together: a quiet track stays quieter by the same LU, broad tonal differences between tracks are evened out; writes an album report (loudness, LRA, true peak, tonal distance per track)</source>
        <translation>The targets are planned together: a quiet track stays quieter by the same LU, broad tonal differences between tracks are evened out; writes an album report (loudness, LRA, true peak, tonal distance per track)</translation>
    </message>
    <message>
        <source>What to write</source>
        <translation>What to write</translation>
    </message>
    <message>
        <source>Folder</source>
        <translation>Folder</translation>
    </message>
    <message>
        <source>Preset</source>
        <translation>Preset</translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation>Cancel</translation>
    </message>
    <message>
        <source>Files that will be written (existing ones are replaced):</source>
        <translation>Files that will be written (existing ones are replaced):</translation>
    </message>
    <message>
        <source>Export folder</source>
        <translation>Export folder</translation>
    </message>
</context>
<context>
    <name>JobsPanel</name>
    <message>
        <source>Not signed in</source>
        <translation>Not signed in</translation>
    </message>
    <message>
        <source>Account…</source>
        <translation>Account…</translation>
    </message>
    <message>
        <source>Server and sign-in for cloud processing</source>
        <translation>Server and sign-in for cloud processing</translation>
    </message>
    <message>
        <source>Job</source>
        <translation>Job</translation>
    </message>
    <message>
        <source>Progress</source>
        <translation>Progress</translation>
    </message>
    <message>
        <source>No cloud jobs. Tick “Process in the cloud” and press Match to send one.</source>
        <translation>No cloud jobs. Tick “Process in the cloud” and press Match to send one.</translation>
    </message>
    <message>
        <source>Cancel job</source>
        <translation>Cancel job</translation>
    </message>
    <message>
        <source>Stop the upload or cancel the job on the server</source>
        <translation>Stop the upload or cancel the job on the server</translation>
    </message>
    <message>
        <source>Download…</source>
        <translation>Download…</translation>
    </message>
    <message>
        <source>Save the result audio and preset to a folder</source>
        <translation>Save the result audio and preset to a folder</translation>
    </message>
    <message>
        <source>Open result</source>
        <translation>Open result</translation>
    </message>
    <message>
        <source>Show the result in the views, like a local match</source>
        <translation>Show the result in the views, like a local match</translation>
    </message>
    <message>
        <source>Refresh</source>
        <translation>Refresh</translation>
    </message>
    <message>
        <source>List the jobs of this account</source>
        <translation>List the jobs of this account</translation>
    </message>
    <message>
        <source>uploading</source>
        <translation>uploading</translation>
    </message>
    <message>
        <source>queued</source>
        <translation>queued</translation>
    </message>
    <message>
        <source>running</source>
        <translation>running</translation>
    </message>
    <message>
        <source>canceling</source>
        <translation>canceling</translation>
    </message>
    <message>
        <source>finished</source>
        <translation>finished</translation>
    </message>
    <message>
        <source>failed</source>
        <translation>failed</translation>
    </message>
    <message>
        <source>canceled</source>
        <translation>canceled</translation>
    </message>
    <message>
        <source>Save the cloud results in</source>
        <translation>Save the cloud results in</translation>
    </message>
</context>
<context>
    <name>LoudnessView</name>
    <message>
        <source>Integrated (LUFS)</source>
        <translation>Integrated (LUFS)</translation>
    </message>
    <message>
        <source>Loudness range (LU)</source>
        <translation>Loudness range (LU)</translation>
    </message>
    <message>
        <source>True peak (dBTP)</source>
        <translation>True peak (dBTP)</translation>
    </message>
    <message>
        <source>PLR (dB)</source>
        <translation>PLR (dB)</translation>
    </message>
    <message>
        <source>Crest factor (dB)</source>
        <translation>Crest factor (dB)</translation>
    </message>
    <message>
        <source>Width S/M (dB)</source>
        <translation>Width S/M (dB)</translation>
    </message>
    <message>
        <source>Correlation</source>
        <translation>Correlation</translation>
    </message>
    <message>
        <source>Reference</source>
        <translation>Reference</translation>
    </message>
    <message>
        <source>Target</source>
        <translation>Target</translation>
    </message>
    <message>
        <source>Result</source>
        <translation>Result</translation>
    </message>
</context>
<context>
    <name>MainController</name>
    <message>
        <source>Checking files</source>
        <translation>Checking files</translation>
    </message>
    <message>
        <source>Loading {name}</source>
        <translation>Loading {name}</translation>
    </message>
    <message>
        <source>Automatic computes on the GPU (CUDA) here.</source>
        <translation>Automatic computes on the GPU (CUDA) here.</translation>
    </message>
    <message>
        <source>Automatic computes on the CPU here: {reason}.</source>
        <translation>Automatic computes on the CPU here: {reason}.</translation>
    </message>
    <message>
        <source>Add a reference and a target first.</source>
        <translation>Add a reference and a target first.</translation>
    </message>
    <message>
        <source>Match finished.</source>
        <translation>Match finished.</translation>
    </message>
    <message>
        <source>Matching {name}</source>
        <translation>Matching {name}</translation>
    </message>
    <message>
        <source>{target:.1f} LUFS would need more than {budget:g} dB of limiting (Max limiting); left at {lufs:.1f} LUFS.</source>
        <translation>{target:.1f} LUFS would need more than {budget:g} dB of limiting (Max limiting); left at {lufs:.1f} LUFS.</translation>
    </message>
    <message>
        <source>{target:.1f} LUFS took the clip stage besides the limiter (up to {clip:g} dB of every peak).</source>
        <translation>{target:.1f} LUFS took the clip stage besides the limiter (up to {clip:g} dB of every peak).</translation>
    </message>
    <message>
        <source>Result of {name} opened.</source>
        <translation>Result of {name} opened.</translation>
    </message>
    <message>
        <source>Opening the result of {name}</source>
        <translation>Opening the result of {name}</translation>
    </message>
    <message>
        <source>Preview is available for mono and stereo files only.</source>
        <translation>Preview is available for mono and stereo files only.</translation>
    </message>
    <message>
        <source>Rendering the loop preview</source>
        <translation>Rendering the loop preview</translation>
    </message>
    <message>
        <source>Match first, then export.</source>
        <translation>Match first, then export.</translation>
    </message>
    <message>
        <source>Exported {n} files to {folder}</source>
        <translation>Exported {n} files to {folder}</translation>
    </message>
    <message>
        <source>Exporting</source>
        <translation>Exporting</translation>
    </message>
    <message>
        <source>Batch finished: {n} targets, {files} files written.</source>
        <translation>Batch finished: {n} targets, {files} files written.</translation>
    </message>
    <message>
        <source>Album: loudness spread {spread:.1f} LU (input {spread_in:.1f} LU), tonal distance to the album {dist:.2f} dB (input {dist_in:.2f} dB)</source>
        <translation>Album: loudness spread {spread:.1f} LU (input {spread_in:.1f} LU), tonal distance to the album {dist:.2f} dB (input {dist_in:.2f} dB)</translation>
    </message>
    <message>
        <source>Batch: matching every target</source>
        <translation>Batch: matching every target</translation>
    </message>
    <message>
        <source>No result yet: press Match first.</source>
        <translation>No result yet: press Match first.</translation>
    </message>
    <message>
        <source>Canceled.</source>
        <translation>Canceled.</translation>
    </message>
    <message>
        <source>checking</source>
        <translation>checking</translation>
    </message>
    <message>
        <source>analysing</source>
        <translation>analysing</translation>
    </message>
    <message>
        <source>decoding</source>
        <translation>decoding</translation>
    </message>
    <message>
        <source>planning</source>
        <translation>planning</translation>
    </message>
    <message>
        <source>equalising</source>
        <translation>equalising</translation>
    </message>
    <message>
        <source>planning gain</source>
        <translation>planning gain</translation>
    </message>
    <message>
        <source>rendering</source>
        <translation>rendering</translation>
    </message>
    <message>
        <source>uploading</source>
        <translation>uploading</translation>
    </message>
    <message>
        <source>downloading</source>
        <translation>downloading</translation>
    </message>
    <message>
        <source>checking delivery</source>
        <translation>checking delivery</translation>
    </message>
    <message>
        <source>done</source>
        <translation>done</translation>
    </message>
</context>
<context>
    <name>MainWindow</name>
    <message>
        <source>audio-style — reference matching</source>
        <translation>audio-style — reference matching</translation>
    </message>
    <message>
        <source>Reference</source>
        <translation>Reference</translation>
    </message>
    <message>
        <source>Drop the track(s) whose sound you want here</source>
        <translation>Drop the track(s) whose sound you want here</translation>
    </message>
    <message>
        <source>Targets</source>
        <translation>Targets</translation>
    </message>
    <message>
        <source>Drop your own track(s) here; several = batch</source>
        <translation>Drop your own track(s) here; several = batch</translation>
    </message>
    <message>
        <source>Files</source>
        <translation>Files</translation>
    </message>
    <message>
        <source>Match</source>
        <translation>Match</translation>
    </message>
    <message>
        <source>Loudness</source>
        <translation>Loudness</translation>
    </message>
    <message>
        <source>Delivery</source>
        <translation>Delivery</translation>
    </message>
    <message>
        <source>Cloud jobs</source>
        <translation>Cloud jobs</translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation>Cancel</translation>
    </message>
    <message>
        <source>&amp;File</source>
        <translation>&amp;File</translation>
    </message>
    <message>
        <source>Open &amp;reference…</source>
        <translation>Open &amp;reference…</translation>
    </message>
    <message>
        <source>&amp;Open target…</source>
        <translation>&amp;Open target…</translation>
    </message>
    <message>
        <source>Recent &amp;files</source>
        <translation>Recent &amp;files</translation>
    </message>
    <message>
        <source>&amp;Export…</source>
        <translation>&amp;Export…</translation>
    </message>
    <message>
        <source>&amp;Settings…</source>
        <translation>&amp;Settings…</translation>
    </message>
    <message>
        <source>&amp;Quit</source>
        <translation>&amp;Quit</translation>
    </message>
    <message>
        <source>&amp;Match</source>
        <translation>&amp;Match</translation>
    </message>
    <message>
        <source>&amp;Cancel</source>
        <translation>&amp;Cancel</translation>
    </message>
    <message>
        <source>&amp;Playback</source>
        <translation>&amp;Playback</translation>
    </message>
    <message>
        <source>Play / pause</source>
        <translation>Play / pause</translation>
    </message>
    <message>
        <source>Target</source>
        <translation>Target</translation>
    </message>
    <message>
        <source>Result</source>
        <translation>Result</translation>
    </message>
    <message>
        <source>Loop</source>
        <translation>Loop</translation>
    </message>
    <message>
        <source>Loudness-matched</source>
        <translation>Loudness-matched</translation>
    </message>
    <message>
        <source>&amp;Cloud</source>
        <translation>&amp;Cloud</translation>
    </message>
    <message>
        <source>Process in the &amp;cloud</source>
        <translation>Process in the &amp;cloud</translation>
    </message>
    <message>
        <source>&amp;Account…</source>
        <translation>&amp;Account…</translation>
    </message>
    <message>
        <source>&amp;View</source>
        <translation>&amp;View</translation>
    </message>
    <message>
        <source>&amp;Help</source>
        <translation>&amp;Help</translation>
    </message>
    <message>
        <source>&amp;About audio-style</source>
        <translation>&amp;About audio-style</translation>
    </message>
    <message>
        <source>Process in the cloud</source>
        <translation>Process in the cloud</translation>
    </message>
    <message>
        <source>Cloud processing is not possible right now: {reason}
Your files and settings are unchanged; you can process on this computer instead.</source>
        <translation>Cloud processing is not possible right now: {reason}
Your files and settings are unchanged; you can process on this computer instead.</translation>
    </message>
    <message>
        <source>Process on this computer</source>
        <translation>Process on this computer</translation>
    </message>
    <message>
        <source>Open reference tracks</source>
        <translation>Open reference tracks</translation>
    </message>
    <message>
        <source>Open target tracks</source>
        <translation>Open target tracks</translation>
    </message>
    <message>
        <source>Audio files ({exts})</source>
        <translation>Audio files ({exts})</translation>
    </message>
    <message>
        <source>All files (*)</source>
        <translation>All files (*)</translation>
    </message>
    <message>
        <source>(none)</source>
        <translation>(none)</translation>
    </message>
    <message>
        <source>Reference: {name}</source>
        <translation>Reference: {name}</translation>
    </message>
    <message>
        <source>Target: {name}</source>
        <translation>Target: {name}</translation>
    </message>
    <message>
        <source>No audio output.</source>
        <translation>No audio output.</translation>
    </message>
    <message>
        <source>Match first, then export.</source>
        <translation>Match first, then export.</translation>
    </message>
    <message>
        <source>The new language applies after restarting audio-style.</source>
        <translation>The new language applies after restarting audio-style.</translation>
    </message>
    <message>
        <source>About audio-style</source>
        <translation>About audio-style</translation>
    </message>
    <message>
        <source>audio-style matches the EQ, loudness, dynamics and stereo width of your track to a reference track.</source>
        <translation>audio-style matches the EQ, loudness, dynamics and stereo width of your track to a reference track.</translation>
    </message>
    <message>
        <source>Preview updated for {start}–{end} s; the full render happens on export.</source>
        <translation>Preview updated for {start}–{end} s; the full render happens on export.</translation>
    </message>
    <message>
        <source>Exported {n} files to {folder}</source>
        <translation>Exported {n} files to {folder}</translation>
    </message>
</context>
<context>
    <name>MessageBar</name>
    <message>
        <source>Dismiss</source>
        <translation>Dismiss</translation>
    </message>
    <message>
        <source>Error: </source>
        <translation>Error: </translation>
    </message>
</context>
<context>
    <name>SettingsDialog</name>
    <message>
        <source>Settings</source>
        <translation>Settings</translation>
    </message>
    <message>
        <source>Automatic (system language)</source>
        <translation>Automatic (system language)</translation>
    </message>
    <message>
        <source>Automatic</source>
        <translation>Automatic</translation>
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
        <translation>System default</translation>
    </message>
    <message>
        <source>Off</source>
        <translation>Off</translation>
    </message>
    <message>
        <source>Lower the limiter's ceiling until the result stays under it after this codec's encode and decode (measured).</source>
        <translation>Lower the limiter's ceiling until the result stays under it after this codec's encode and decode (measured).</translation>
    </message>
    <message>
        <source>A new language applies after restarting the app.</source>
        <translation>A new language applies after restarting the app.</translation>
    </message>
    <message>
        <source>Language</source>
        <translation>Language</translation>
    </message>
    <message>
        <source>Processing device</source>
        <translation>Processing device</translation>
    </message>
    <message>
        <source>Audio output</source>
        <translation>Audio output</translation>
    </message>
    <message>
        <source>Default audio format</source>
        <translation>Default audio format</translation>
    </message>
    <message>
        <source>Codec-safe ceiling</source>
        <translation>Codec-safe ceiling</translation>
    </message>
    <message>
        <source>OK</source>
        <translation>OK</translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation>Cancel</translation>
    </message>
</context>
<context>
    <name>ShortTermView</name>
    <message>
        <source>Short-term loudness</source>
        <translation>Short-term loudness</translation>
    </message>
    <message>
        <source>Time (s)</source>
        <translation>Time (s)</translation>
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
        <translation>Reference mid</translation>
    </message>
    <message>
        <source>Reference side</source>
        <translation>Reference side</translation>
    </message>
    <message>
        <source>Target mid</source>
        <translation>Target mid</translation>
    </message>
    <message>
        <source>Target side</source>
        <translation>Target side</translation>
    </message>
    <message>
        <source>Result mid</source>
        <translation>Result mid</translation>
    </message>
    <message>
        <source>Result side</source>
        <translation>Result side</translation>
    </message>
    <message>
        <source>Spectrum (mid / side)</source>
        <translation>Spectrum (mid / side)</translation>
    </message>
    <message>
        <source>Frequency (Hz)</source>
        <translation>Frequency (Hz)</translation>
    </message>
    <message>
        <source>Level (dB)</source>
        <translation>Level (dB)</translation>
    </message>
    <message>
        <source>Mid</source>
        <translation>Mid</translation>
    </message>
    <message>
        <source>Side</source>
        <translation>Side</translation>
    </message>
    <message>
        <source>Align levels</source>
        <translation>Align levels</translation>
    </message>
    <message>
        <source>Shift each spectrum by its integrated loudness</source>
        <translation>Shift each spectrum by its integrated loudness</translation>
    </message>
    <message>
        <source>Range of the references (corrected only outside it)</source>
        <translation>Range of the references (corrected only outside it)</translation>
    </message>
    <message>
        <source>Level re. loudness (dB)</source>
        <translation>Level re. loudness (dB)</translation>
    </message>
</context>
<context>
    <name>TransportBar</name>
    <message>
        <source>Play</source>
        <translation>Play</translation>
    </message>
    <message>
        <source>Play / pause (Space)</source>
        <translation>Play / pause (Space)</translation>
    </message>
    <message>
        <source>1  Target</source>
        <translation>1  Target</translation>
    </message>
    <message>
        <source>2  Result</source>
        <translation>2  Result</translation>
    </message>
    <message>
        <source>3  Reference</source>
        <translation>3  Reference</translation>
    </message>
    <message>
        <source>Listen to the target (key 1)</source>
        <translation>Listen to the target (key 1)</translation>
    </message>
    <message>
        <source>Listen to the matched result (key 2)</source>
        <translation>Listen to the matched result (key 2)</translation>
    </message>
    <message>
        <source>Listen to the reference (key 3)</source>
        <translation>Listen to the reference (key 3)</translation>
    </message>
    <message>
        <source>Loop</source>
        <translation>Loop</translation>
    </message>
    <message>
        <source>Loop the selected region (L)</source>
        <translation>Loop the selected region (L)</translation>
    </message>
    <message>
        <source>Loudness-matched</source>
        <translation>Loudness-matched</translation>
    </message>
    <message>
        <source>Play every source at the same integrated loudness, so louder never wins</source>
        <translation>Play every source at the same integrated loudness, so louder never wins</translation>
    </message>
    <message>
        <source>Pause</source>
        <translation>Pause</translation>
    </message>
</context>
<context>
    <name>WaveformView</name>
    <message>
        <source>Reference</source>
        <translation>Reference</translation>
    </message>
    <message>
        <source>Target</source>
        <translation>Target</translation>
    </message>
    <message>
        <source>Result</source>
        <translation>Result</translation>
    </message>
    <message>
        <source>Waveform</source>
        <translation>Waveform</translation>
    </message>
    <message>
        <source>Time (s)</source>
        <translation>Time (s)</translation>
    </message>
</context>
</TS>
