/** The console's style sheet (served as /app.css). */
export const CONSOLE_CSS = `
:root { --bg:#f4f6f9; --panel:#fff; --line:#e3e7ee; --text:#1d2433; --muted:#6b7485; --accent:#2563eb; --side:#111827; --side-text:#c7cdd8; --ok:#15803d; --bad:#c2410c; }
* { box-sizing: border-box; }
body { margin:0; font:14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color:var(--text); background:var(--bg); }
.layout { display:flex; min-height:100vh; }
.sidebar { position:sticky; top:0; height:100vh; width:220px; flex:none; background:var(--side); color:var(--side-text); padding:18px 12px; display:flex; flex-direction:column; gap:2px; }
.brand { display:flex; align-items:center; gap:10px; color:#fff; font-weight:700; font-size:19px; text-decoration:none; padding:4px 10px 18px; }
.brand svg { color:#60a5fa; }
.nav { display:flex; align-items:center; gap:10px; color:var(--side-text); text-decoration:none; padding:9px 10px; border-radius:7px; }
.nav:hover { background:#1f2937; color:#fff; }
.nav.active { background:#1e3a8a; color:#fff; }
main { flex:1; padding:24px 32px; min-width:0; }
h1 { font-size:22px; margin:0 0 18px; display:flex; align-items:center; gap:14px; }
h2 { font-size:15px; margin:0 0 12px; }
h3 { font-size:13px; margin:14px 0 6px; color:var(--muted); text-transform:uppercase; letter-spacing:.04em; display:flex; align-items:center; gap:12px; }
a { color:var(--accent); }
.crumbs { margin:0 0 6px; color:var(--muted); }
.cards { display:grid; grid-template-columns:repeat(auto-fill, minmax(150px, 1fr)); gap:12px; margin-bottom:16px; }
.card { background:var(--panel); border:1px solid var(--line); border-radius:10px; padding:12px 16px; }
.card span { display:block; color:var(--muted); font-size:12px; text-transform:uppercase; letter-spacing:.04em; }
.card b { font-size:22px; font-weight:650; }
.card span.state { display:inline-block; font-size:13px; text-transform:none; letter-spacing:0; margin-top:4px; }
.panel { background:var(--panel); border:1px solid var(--line); border-radius:10px; padding:16px 18px; margin-bottom:16px; overflow-x:auto; }
.panel.danger { border-color:#fecaca; }
.grid2 { display:grid; grid-template-columns:repeat(auto-fit, minmax(420px, 1fr)); gap:16px; }
table { width:100%; border-collapse:collapse; }
th { text-align:left; font-size:12px; color:var(--muted); font-weight:600; text-transform:uppercase; letter-spacing:.03em; padding:8px 10px; border-bottom:1px solid var(--line); white-space:nowrap; }
td { padding:8px 10px; border-bottom:1px solid #f0f2f6; vertical-align:top; }
tr.clickable { cursor:pointer; }
tr.clickable:hover td { background:#f7f9fc; }
tr.override td { background:#fffbeb; }
.num { text-align:right; font-variant-numeric:tabular-nums; }
.mono, pre { font-family: ui-monospace, "SF Mono", Menlo, Consolas, monospace; font-size:12.5px; }
.trunc { max-width:420px; overflow:hidden; text-overflow:ellipsis; white-space:nowrap; }
.nowrap { white-space:nowrap; }
.muted { color:var(--muted); }
.small { font-size:12px; }
.error { color:var(--bad); }
.ok { color:var(--ok); }
.badge { display:inline-block; margin-left:8px; padding:1px 8px; border-radius:999px; background:#e0e7ff; color:#3730a3; font-size:11px; font-weight:600; }
.source { display:inline-block; padding:1px 8px; border-radius:999px; font-size:11.5px; background:#eef1f5; color:#4b5563; white-space:nowrap; }
.source.dynamic-topic, .source.dynamic-broker { background:#fef3c7; color:#92400e; }
.source.file { background:#dcfce7; color:#166534; }
.state { display:inline-block; padding:1px 9px; border-radius:999px; font-size:12px; font-weight:600; background:#eef1f5; }
.state.stable { background:#dcfce7; color:#166534; }
.state.empty { background:#eef1f5; color:#4b5563; }
.state.preparingrebalance, .state.completingrebalance { background:#fef3c7; color:#92400e; }
.dot { display:inline-block; width:8px; height:8px; border-radius:50%; margin-right:6px; }
.dot.ok { background:#22c55e; }
form, .form-row { margin:0; }
.form-row { display:flex; flex-wrap:wrap; align-items:flex-end; gap:12px; }
.form-row h2 { width:100%; }
label { display:flex; flex-direction:column; gap:4px; font-size:12px; color:var(--muted); font-weight:600; }
label.grow { flex:1; }
label.check { flex-direction:row; align-items:center; margin-bottom:8px; font-weight:500; }
.produce label { margin-bottom:10px; }
input, select, textarea { font:inherit; color:var(--text); padding:7px 9px; border:1px solid #cfd6e1; border-radius:7px; background:#fff; min-width:120px; }
textarea { width:100%; font-family: ui-monospace, Menlo, Consolas, monospace; font-size:12.5px; }
input[type=checkbox] { min-width:0; padding:0; margin:0 6px 0 0; }
input:focus, select:focus, textarea:focus { outline:2px solid #bfdbfe; border-color:var(--accent); }
button, a.button { font:inherit; font-weight:600; padding:7px 14px; border-radius:7px; border:1px solid #cfd6e1; background:#fff; color:var(--text); cursor:pointer; text-decoration:none; font-size:13px; }
button:hover { background:#f3f5f9; }
button.primary { background:var(--accent); border-color:var(--accent); color:#fff; }
button.primary:hover { background:#1d4ed8; }
button.danger { background:#dc2626; border-color:#dc2626; color:#fff; }
button:disabled { opacity:.5; cursor:not-allowed; }
button.link { border:none; background:none; color:var(--accent); padding:0; font-weight:500; }
.tabs { display:inline-flex; gap:4px; }
.tab { padding:2px 10px; font-size:12px; text-transform:none; letter-spacing:0; }
.tab.active { background:#1e3a8a; color:#fff; border-color:#1e3a8a; }
.record { background:#f8fafc; border:1px solid var(--line); border-radius:8px; padding:12px 16px; }
.record .meta { display:flex; flex-wrap:wrap; gap:18px; color:var(--muted); }
.record .meta b { color:var(--text); font-weight:600; }
pre.value { background:#0f172a; color:#e2e8f0; padding:10px 12px; border-radius:7px; overflow:auto; max-height:360px; margin:0; white-space:pre-wrap; word-break:break-all; }
.chart { max-width:760px; }
.chart svg { width:100%; height:auto; display:block; }
.chart .grid { stroke:#eef1f5; }
.chart .tick { fill:#8a93a3; font-size:10px; }
.legend { display:flex; gap:16px; color:var(--muted); font-size:12.5px; margin-top:4px; }
.legend i { display:inline-block; width:10px; height:10px; border-radius:2px; margin-right:6px; }
`;
