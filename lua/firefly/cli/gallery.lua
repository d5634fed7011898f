-- DIR/index.html: the batch's gallery, one self-contained page (no network,
-- no external script or style; images by relative path beside it). A card
-- per row with its outputs, prompt, seeds, model version, job id, and the
-- error of a failed row; filter by status and sort, in a few lines of inline
-- script. Rewritten (to a temporary name, then renamed) as rows finish, so it
-- can be opened while the run goes on.

local core = require "firefly.core"

local gallery = {}

local function esc(s)
  return (tostring(s == nil and "" or s):gsub("[&<>\"']", {
    ["&"] = "&amp;", ["<"] = "&lt;", [">"] = "&gt;", ['"'] = "&quot;", ["'"] = "&#39;" }))
end

-- A relative URL for a file name in DIR (every byte that is not plain is escaped).
local function href(name)
  return (name:gsub("[^%w%-._~/]", function(c) return ("%%%02X"):format(c:byte()) end))
end

local STYLE = [[
body{font:14px/1.4 system-ui,sans-serif;margin:0;background:#1d1f23;color:#e6e6e6}
header{padding:12px 16px;background:#25282d;position:sticky;top:0;
  display:flex;gap:16px;align-items:center;flex-wrap:wrap}
h1{font-size:16px;margin:0}
.counts span{margin-right:10px}
button{background:#33373d;color:#e6e6e6;border:1px solid #444;border-radius:4px;padding:3px 9px;cursor:pointer}
button.on{background:#4a6fa5}
main{display:flex;flex-wrap:wrap;gap:12px;padding:16px}
.row{background:#2a2d33;border-radius:6px;padding:10px;width:300px;border-top:3px solid #666}
.row.succeeded{border-color:#3fa66a}.row.failed{border-color:#d9534f}.row.canceled{border-color:#c9a227}
.row.in_flight{border-color:#4a6fa5}
.thumbs{display:flex;flex-wrap:wrap;gap:6px;margin:6px 0}
.thumbs figure{margin:0;font-size:11px;color:#aaa;text-align:center}
.thumbs img{width:140px;height:140px;object-fit:contain;background:#111;display:block}
.prompt{font-weight:600}
.meta{font-size:12px;color:#aaa;word-break:break-all}
.error{color:#ff8c87;font-size:12px;white-space:pre-wrap;word-break:break-word}
.status{font-size:11px;text-transform:uppercase;letter-spacing:.05em}
]]

local SCRIPT = [[
(function(){
  var show='all',rows=[].slice.call(document.querySelectorAll('.row'));
  function apply(){rows.forEach(function(r){r.style.display=(show==='all'||r.dataset.status===show)?'':'none';});}
  document.querySelectorAll('[data-filter]').forEach(function(b){b.onclick=function(){
    show=b.dataset.filter;
    document.querySelectorAll('[data-filter]').forEach(function(x){x.classList.toggle('on',x===b);});apply();};});
  document.getElementById('sort').onchange=function(e){
    var k=e.target.value,m=document.querySelector('main');
    rows.sort(function(a,b){var x=a.dataset[k],y=b.dataset[k];
      if(k==='line'){return (+x)-(+y);}return x<y?-1:x>y?1:(+a.dataset.line)-(+b.dataset.line);});
    rows.forEach(function(r){m.appendChild(r);});};
})();
]]

-- Seeds come back from JSON as floats on Lua 5.3+: 1201, not 1201.0.
local function num(v)
  if type(v) == "number" and v == math.floor(v) then return ("%d"):format(v) end
  return esc(v)
end

local LABEL = {
  succeeded = "done", failed = "failed", canceled = "canceled", in_flight = "in flight", queued = "queued",
}

-- info: {title, rows = {{line, name, prompt, operation, model_version, status,
-- job_id, error, outputs = {{file, seed}}}}, counts = {status = n}, updated}
function gallery.render(info)
  local h = {}
  local function w(...) for i = 1, select("#", ...) do h[#h + 1] = select(i, ...) end end
  w("<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">",
    "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; img-src 'self' data:; ",
    "media-src 'self'; style-src 'unsafe-inline'; script-src 'unsafe-inline'\">",
    "<title>", esc(info.title), "</title><style>", STYLE, "</style></head><body>\n",
    "<header><h1>", esc(info.title), "</h1>",
    "<div class=\"counts\">")
  for _, k in ipairs { "succeeded", "failed", "canceled", "in_flight", "queued" } do
    local n = info.counts[k] or 0
    if n > 0 or k == "succeeded" or k == "failed" then w("<span>", LABEL[k], ": <b>", n, "</b></span>") end
  end
  w("</div><div><button class=\"on\" data-filter=\"all\">all</button>")
  for _, k in ipairs { "succeeded", "failed", "canceled", "in_flight", "queued" } do
    w(" <button data-filter=\"", k, "\">", LABEL[k], "</button>")
  end
  w("</div><label>sort <select id=\"sort\"><option value=\"line\">row</option><option value=\"status\">status</option>",
    "<option value=\"name\">name</option></select></label>",
    "<span class=\"meta\">updated ", esc(info.updated), "</span></header>\n<main>\n")
  for _, r in ipairs(info.rows) do
    w("<section class=\"row ", esc(r.status), "\" data-status=\"", esc(r.status), "\" data-line=\"", r.line,
      "\" data-name=\"", esc(r.name), "\">",
      "<div class=\"status\">", esc(LABEL[r.status] or r.status), " · line ", r.line, "</div>",
      "<div class=\"prompt\">", esc(r.prompt or r.name), "</div>")
    if r.outputs and #r.outputs > 0 then
      w("<div class=\"thumbs\">")
      for _, o in ipairs(r.outputs) do
        if o.file:match("%.mp4$") then
          w("<figure><video src=\"", href(o.file), "\" width=\"140\" controls></video>",
            "<figcaption>seed ", num(o.seed), "</figcaption></figure>")
        else
          w("<figure><a href=\"", href(o.file), "\"><img src=\"", href(o.file), "\" alt=\"", esc(o.file),
            "\" loading=\"eager\"></a><figcaption>seed ", num(o.seed), "</figcaption></figure>")
        end
      end
      w("</div>")
    end
    if r.error then w("<div class=\"error\">", esc(r.error), "</div>") end
    w("<div class=\"meta\">", esc(r.operation))
    if r.model_version then w(" · model ", esc(r.model_version)) end
    if r.job_id then w("<br>job ", esc(r.job_id)) end
    w("</div></section>\n")
  end
  w("</main>\n<script>", SCRIPT, "</script>\n</body></html>\n")
  return table.concat(h)
end

-- Writes the page whole or not at all; true, or nil and why. The temporary name is
-- unique to this writer (src/files.c, as every save's): two batches finishing into one
-- folder once shared "index.html.part", and one renamed the other's half-written page.
function gallery.write(path, info)
  return core.write_file(path, gallery.render(info))
end

return gallery
