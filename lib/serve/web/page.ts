/** The page at GET /: a text box, the label and probabilities as you type, server vs in-browser. */
export const indexHtml = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>kd-pipeline — try the student</title>
<style>
  body { font: 16px/1.5 system-ui, sans-serif; max-width: 40rem; margin: 2rem auto; padding: 0 1rem; color: #222; }
  textarea { width: 100%; min-height: 5rem; font: inherit; padding: .5rem; box-sizing: border-box; }
  fieldset { border: 1px solid #ccc; margin: 1rem 0; }
  #label { font-size: 1.6rem; font-weight: 600; }
  #probabilities { list-style: none; padding: 0; }
  #probabilities li { display: grid; grid-template-columns: 8rem 1fr 4rem; gap: .5rem; align-items: center; }
  .bar { background: #eee; height: .8rem; border-radius: .4rem; overflow: hidden; }
  .bar > span { display: block; height: 100%; background: #3a7bd5; }
  .value { text-align: right; font-variant-numeric: tabular-nums; }
  dl { display: grid; grid-template-columns: auto 1fr; gap: .2rem 1rem; }
  #status, #model { color: #666; }
</style>
</head>
<body>
<h1>Try the distilled student</h1>
<p id="model">loading…</p>
<textarea id="text" placeholder="Type a review, e.g. I love this movie" autofocus></textarea>
<fieldset>
  <legend>Predict</legend>
  <label><input type="radio" name="mode" id="mode-server" value="server" checked> on the server (POST /predict)</label><br>
  <label><input type="radio" name="mode" id="mode-browser" value="browser"> in this browser (tfjs, model.json)</label>
</fieldset>
<div id="label">—</div>
<ul id="probabilities"></ul>
<dl>
  <dt>server latency</dt><dd id="latency-server">–</dd>
  <dt>browser latency</dt><dd id="latency-browser">–</dd>
</dl>
<p id="status">Type a sentence.</p>
<script src="/vendor/tf.min.js"></script>
<script type="importmap">{"imports": {"@huggingface/tokenizers": "/vendor/tokenizers.mjs"}}</script>
<script type="module" src="/static/lib/serve/web/app.js"></script>
</body>
</html>
`;
