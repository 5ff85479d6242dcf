// Slack mrkdwn to safe HTML: *bold*, _italic_, ~strike~, `code`, ```blocks```, > quotes, links,
// <@user>/<#channel>/<!subteam^…>/<!here> mentions, <!date^…> tokens and :emoji: shortcodes.
// Every piece of text goes through esc(): message text comes from alerts and people.
"use strict";

const EMOJI = {
  white_check_mark: "✅", heavy_check_mark: "✔️", x: "❌", warning: "⚠️", rotating_light: "🚨", fire: "🔥",
  eyes: "👀", wrench: "🔧", hammer_and_wrench: "🛠️", rocket: "🚀", tada: "🎉", thumbsup: "👍", "+1": "👍",
  thumbsdown: "👎", "-1": "👎", bell: "🔔", memo: "📝", page_facing_up: "📄", bar_chart: "📊",
  chart_with_upwards_trend: "📈", chart_with_downwards_trend: "📉", hourglass: "⌛", stopwatch: "⏱️",
  red_circle: "🔴", large_green_circle: "🟢", large_yellow_circle: "🟡", large_blue_circle: "🔵",
  information_source: "ℹ️", question: "❓", exclamation: "❗", sos: "🆘", pager: "📟", speech_balloon: "💬",
  books: "📚", book: "📖", mag: "🔍", link: "🔗", lock: "🔒", gear: "⚙️", bulb: "💡", calendar: "📅",
  clock1: "🕐", arrow_up: "⬆️", arrow_down: "⬇️", arrow_right: "➡️", zap: "⚡", sparkles: "✨",
  smile: "😄", slightly_smiling_face: "🙂", wave: "👋", pray: "🙏", muscle: "💪", checkered_flag: "🏁",
};

function esc(text) {
  return String(text).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;").replace(/'/g, "&#39;");
}

function unescapeSlack(text) {
  return String(text).replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&amp;/g, "&");
}

function safeUrl(url) {
  return /^(https?:|mailto:)/i.test(url) ? url : null;
}

const MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September",
  "October", "November", "December"];
const DAYS = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];

function ordinal(n) {
  const s = ["th", "st", "nd", "rd"], v = n % 100;
  return n + (s[(v - 20) % 10] || s[v] || s[0]);
}

function formatDate(seconds, format) {
  const d = new Date(Number(seconds) * 1000);
  if (isNaN(d.getTime())) return null;
  const pad = (n) => String(n).padStart(2, "0");
  const hours = d.getHours() % 12 || 12, ampm = d.getHours() < 12 ? "AM" : "PM";
  const today = new Date(); const yesterday = new Date(Date.now() - 86400000); const tomorrow = new Date(Date.now() + 86400000);
  const sameDay = (a, b) => a.toDateString() === b.toDateString();
  const pretty = (fallback) => sameDay(d, today) ? "today" : sameDay(d, yesterday) ? "yesterday"
    : sameDay(d, tomorrow) ? "tomorrow" : fallback;
  const date = `${MONTHS[d.getMonth()]} ${ordinal(d.getDate())}, ${d.getFullYear()}`;
  const dateShort = `${MONTHS[d.getMonth()].slice(0, 3)} ${d.getDate()}, ${d.getFullYear()}`;
  const dateLong = `${DAYS[d.getDay()]}, ${date}`;
  const ago = () => {
    const delta = Math.round((Date.now() - d.getTime()) / 1000), abs = Math.abs(delta);
    const [n, unit] = abs < 60 ? [abs, "second"] : abs < 3600 ? [Math.round(abs / 60), "minute"]
      : abs < 86400 ? [Math.round(abs / 3600), "hour"] : [Math.round(abs / 86400), "day"];
    const words = `${n} ${unit}${n === 1 ? "" : "s"}`;
    return delta >= 0 ? `${words} ago` : `in ${words}`;
  };
  const tokens = {
    date_num: `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`,
    date, date_short: dateShort, date_long: dateLong,
    date_pretty: pretty(date), date_short_pretty: pretty(dateShort), date_long_pretty: pretty(dateLong),
    time: `${hours}:${pad(d.getMinutes())} ${ampm}`,
    time_secs: `${hours}:${pad(d.getMinutes())}:${pad(d.getSeconds())} ${ampm}`,
    ago: ago(),
  };
  return format.replace(/\{(\w+)\}/g, (whole, name) => (name in tokens ? tokens[name] : whole));
}

// One <…> token as HTML. ctx: {users, channels, usergroups} maps of id -> name.
function renderToken(inner, ctx) {
  const bar = inner.indexOf("|");
  const target = bar >= 0 ? inner.slice(0, bar) : inner;
  const label = bar >= 0 ? inner.slice(bar + 1) : null;
  if (target.startsWith("@")) {
    const id = target.slice(1);
    const name = (ctx.users && ctx.users[id]) || label || id;
    return `<span class="mention" data-user="${esc(id)}">@${esc(name)}</span>`;
  }
  if (target.startsWith("#")) {
    const id = target.slice(1);
    const name = (ctx.channels && ctx.channels[id]) || label || id;
    return `<span class="mention channel">#${esc(name)}</span>`;
  }
  if (target.startsWith("!subteam^")) {
    const id = target.slice(9);
    const handle = (ctx.usergroups && ctx.usergroups[id]) ? "@" + ctx.usergroups[id] : (label || "@" + id);
    return `<span class="mention group">${esc(handle.startsWith("@") ? handle : "@" + handle)}</span>`;
  }
  if (target.startsWith("!date^")) {
    const [, seconds, format, link] = target.split("^");
    const shown = formatDate(seconds, format || "{date}") || label || "";
    const url = link && safeUrl(link);
    const title = esc(new Date(Number(seconds) * 1000).toISOString());
    return url ? `<a class="date" title="${title}" href="${esc(url)}" target="_blank" rel="noopener">${esc(shown)}</a>`
      : `<time class="date" title="${title}">${esc(shown)}</time>`;
  }
  if (target.startsWith("!")) {
    return `<span class="mention group">@${esc(target.slice(1))}</span>`;
  }
  const url = safeUrl(target);
  if (!url) return esc(label || target);
  return `<a href="${esc(url)}" target="_blank" rel="noopener">${esc(label || target)}</a>`;
}

function inline(text, ctx) {
  const tokens = [];
  const hold = (html) => { tokens.push(html); return `\u0000${tokens.length - 1}\u0000`; };
  let out = text.replace(/`([^`\n]+)`/g, (m, code) => hold(`<code>${esc(unescapeSlack(code))}</code>`));
  out = out.replace(/<([^<>\n]+)>/g, (m, inner) => hold(renderToken(unescapeSlack(inner), ctx)));
  out = esc(unescapeSlack(out));
  const edge = "(^|[\\s(\\[\"'\u0000>])";
  const after = "(?=$|[\\s.,!?;:)\\]\"'\u0000<])";
  out = out.replace(new RegExp(edge + "\\*([^*\\n]+?)\\*" + after, "g"), "$1<b>$2</b>");
  out = out.replace(new RegExp(edge + "_([^_\\n]+?)_" + after, "g"), "$1<i>$2</i>");
  out = out.replace(new RegExp(edge + "~([^~\\n]+?)~" + after, "g"), "$1<s>$2</s>");
  out = out.replace(/:([a-z0-9_+-]+):/g, (m, name) => (name in EMOJI ? EMOJI[name] : m));
  return out.replace(/\u0000(\d+)\u0000/g, (m, i) => tokens[Number(i)]);
}

function mrkdwn(text, ctx) {
  const parts = String(text || "").split("```");
  return parts.map((part, i) => {
    if (i % 2 === 1) return `<pre>${esc(unescapeSlack(part.replace(/^\n/, "")))}</pre>`;
    return part.split("\n").map((line) => {
      const quote = /^(&gt;|>)\s?/.exec(line);
      return quote ? `<blockquote>${inline(line.slice(quote[0].length), ctx)}</blockquote>` : inline(line, ctx);
    }).join("<br>").replace(/<\/blockquote><br>/g, "</blockquote>");
  }).join("");
}

function plainText(text) {
  return esc(String(text || "")).replace(/:([a-z0-9_+-]+):/g, (m, name) => (name in EMOJI ? EMOJI[name] : m))
    .replace(/\n/g, "<br>");
}

window.Mrkdwn = { mrkdwn, plainText, esc, formatDate };
