// The local workspace: sidebar, conversations, threads, composer, modals and the Home tab, redrawn
// from /ui/state whenever /ui/stream says something changed. What people do goes to /ui/*.
"use strict";

(function () {
  const { el, render, collectState, showErrors, missingInputs } = window.BlockKit;
  const { plainText, esc } = window.Mrkdwn;
  const BOOT = JSON.parse(document.getElementById("boot").textContent);
  const BOT = "U0BOT";
  let state = BOOT.state;
  let me = localStorage.getItem("standin.me") || BOOT.me;
  if (!BOOT.people.some((p) => p.id === me)) me = BOOT.me;
  let current = localStorage.getItem("standin.current") || "";
  let thread = null; // parent ts of the open thread
  let shownModal = ""; // id + hash of the modal on screen, so typing survives redraws
  const $ = (id) => document.getElementById(id);

  async function post(path, body) {
    const response = await fetch("/ui/" + path, {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ user: me, ...body }),
    });
    const answer = await response.json().catch(() => ({ ok: false, error: "no answer" }));
    if (!answer.ok) notice(`${path}: ${answer.error}`);
    return answer;
  }

  function notice(text) {
    const box = $("notice");
    box.textContent = text;
    box.classList.remove("hidden");
    clearTimeout(notice.timer);
    notice.timer = setTimeout(() => box.classList.add("hidden"), 6000);
  }

  async function refresh() {
    const response = await fetch("/ui/state?user=" + encodeURIComponent(me));
    state = await response.json();
    draw();
  }

  function ctx(extra) {
    return { users: state.users, channels: state.channels, usergroups: state.usergroups, ...extra };
  }

  function conversation() {
    return state.conversations.find((c) => c.id === current);
  }

  // --- sidebar and top bar ---------------------------------------------------------------------

  function drawSidebar() {
    const channels = $("channels"), dms = $("dms");
    channels.replaceChildren(); dms.replaceChildren();
    $("home-link").classList.toggle("active", current === "home");
    state.conversations.forEach((c) => {
      const link = el("a", "conv" + (c.id === current ? " active" : ""), (c.kind === "dm" ? "💬 " : "# ") + esc(c.name));
      link.href = "#"; link.dataset.conversation = c.id;
      link.onclick = (e) => { e.preventDefault(); open(c.id); };
      (c.kind === "dm" ? dms : channels).append(link);
    });
    if (!state.conversations.some((c) => c.kind === "dm")) {
      const link = el("a", "conv", "💬 opsbot"); link.href = "#";
      link.onclick = async (e) => { e.preventDefault(); const a = await post("dm", {}); if (a.ok) { current = a.channel; await refresh(); } };
      dms.append(link);
    }
  }

  function open(id) {
    current = id; thread = null;
    localStorage.setItem("standin.current", id);
    if (id === "home") post("home", {});
    draw();
  }

  // --- messages ----------------------------------------------------------------------------------

  function messageNode(message, surface, channelId, inThread) {
    const node = el("div", "msg" + (surface === "ephemeral" ? " ephemeral" : ""));
    node.dataset.ts = message.ts;
    const who = message.user === BOT || message.bot_id ? "opsbot" : (state.users[message.user] || message.user || "");
    const when = new Date(Number(message.ts) * 1000).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
    const meta = el("div", "meta", `<b>${esc(who)}</b> <span class="time">${esc(when)}</span>` +
      (message.edited ? ' <span class="time">(edited)</span>' : "") +
      (surface === "ephemeral" ? ' <span class="only-you">Only visible to you</span>' : ""));
    node.append(meta);
    const onAction = (action) => post("act", { surface, channel: channelId, ts: message.ts, action });
    if (message.blocks && message.blocks.length) node.append(render(message.blocks, ctx({ onAction })));
    else if (message.text) node.append(el("div", "text", window.Mrkdwn.mrkdwn(message.text, ctx())));
    (message.files || []).forEach((file) => node.append(fileNode(file)));
    if (!inThread && message.reply_count) {
      const link = el("a", "thread-link", `${message.reply_count} repl${message.reply_count === 1 ? "y" : "ies"}`);
      link.href = "#"; link.onclick = (e) => { e.preventDefault(); thread = message.ts; draw(); };
      node.append(link);
    } else if (!inThread && surface === "message") {
      const link = el("a", "thread-link reply-start", "Reply in thread");
      link.href = "#"; link.onclick = (e) => { e.preventDefault(); thread = message.ts; draw(); };
      node.append(link);
    }
    return node;
  }

  function fileNode(file) {
    const box = el("div", "file");
    const url = "/files/" + encodeURIComponent(file.id);
    if (/^image\//.test(file.mimetype || "")) {
      const img = el("img", "file-image"); img.src = url; img.alt = file.title || file.name;
      box.append(el("div", "file-title", plainText(file.title || file.name)), img);
    } else {
      const link = el("a", "file-link", "📎 " + plainText(file.title || file.name)); link.href = url; link.download = file.name;
      box.append(link, el("span", "hint", " " + esc(file.name)));
    }
    return box;
  }

  function timeline(c, parentTs) {
    const items = [];
    if (parentTs) {
      const parent = c.messages.find((m) => m.ts === parentTs);
      if (parent) { items.push([parent, "message"]); (parent.replies || []).forEach((r) => items.push([r, "message"])); }
      c.ephemerals.filter((e) => e.thread_ts === parentTs).forEach((e) => items.push([e, "ephemeral"]));
    } else {
      c.messages.forEach((m) => items.push([m, "message"]));
      c.ephemerals.filter((e) => !e.thread_ts).forEach((e) => items.push([e, "ephemeral"]));
    }
    return items.sort((a, b) => (a[0].ts < b[0].ts ? -1 : 1));
  }

  function drawConversation() {
    const c = conversation(), list = $("messages"), threadPane = $("thread");
    $("composer").classList.toggle("hidden", !c);
    if (current === "home") { drawHome(); return; }
    if (!c) { $("title").textContent = "Pick a channel"; list.replaceChildren(); threadPane.classList.add("hidden"); return; }
    $("title").textContent = (c.kind === "dm" ? "opsbot" : "#" + c.name) + (c.bot_member ? "" : " — opsbot is not in this channel");
    const stick = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
    list.replaceChildren(...timeline(c, null).map(([m, s]) => messageNode(m, s, c.id, false)));
    if (stick) list.scrollTop = list.scrollHeight;
    threadPane.classList.toggle("hidden", !thread);
    if (thread) {
      $("thread-messages").replaceChildren(...timeline(c, thread).map(([m, s]) => messageNode(m, s, c.id, true)));
    }
  }

  function drawHome() {
    $("title").textContent = "opsbot — Home";
    $("thread").classList.add("hidden");
    const list = $("messages");
    const view = state.home;
    if (!view) { list.replaceChildren(el("p", "hint", "The Home tab is loading…")); return; }
    const onAction = (action) => post("act", { surface: "home", view_id: view.id, action, state: collectState(list) });
    list.replaceChildren(el("div", "home", ""));
    list.firstChild.append(render(view.blocks, ctx({ onAction })));
  }

  // --- modals ----------------------------------------------------------------------------------

  function drawModal() {
    const overlay = $("modal-overlay");
    const view = state.modals[state.modals.length - 1];
    if (!view) { overlay.classList.add("hidden"); shownModal = ""; return; }
    overlay.classList.remove("hidden");
    if (view.id + ":" + view.hash === shownModal) return;
    shownModal = view.id + ":" + view.hash;
    const box = $("modal");
    box.replaceChildren();
    box.append(el("div", "modal-title", plainText(view.title && view.title.text)));
    const body = el("div", "modal-body");
    const onAction = (action) => post("act", { surface: "view", view_id: view.id, action, state: collectState(body) });
    body.append(render(view.blocks, ctx({ onAction })));
    box.append(body);
    const row = el("div", "modal-actions");
    const close = el("button", "btn", plainText((view.close && view.close.text) || "Cancel"));
    close.onclick = () => post("close", { view_id: view.id, state: collectState(body) });
    row.append(close);
    if (view.submit) {
      const submit = el("button", "btn primary", plainText(view.submit.text));
      submit.onclick = async () => {
        const values = collectState(body);
        const missing = missingInputs(body, values);
        showErrors(body, missing);
        if (Object.keys(missing).length) return;
        submit.disabled = true;
        const answer = await post("submit", { view_id: view.id, state: values });
        submit.disabled = false;
        if (answer && answer.errors) showErrors(body, answer.errors);
        if (answer && answer.refused) notice("Slack refused the view: " + answer.refused.join(" "));
      };
      row.append(submit);
    }
    box.append(row);
  }

  function draw() {
    drawSidebar();
    drawConversation();
    drawModal();
  }

  // --- composer ----------------------------------------------------------------------------------

  function toSlack(text) {
    return text.replace(/@opsbot\b/g, `<@${BOT}>`);
  }

  async function send(input, threadTs) {
    const text = input.value.trim();
    if (!text || !current || current === "home") return;
    input.value = "";
    const command = /^(\/[a-z-]+)(?:\s+([\s\S]*))?$/.exec(text);
    if (command && !threadTs) await post("command", { channel: current, command: command[1], text: command[2] || "" });
    else await post("say", { channel: current, text: toSlack(text), thread_ts: threadTs });
  }

  function setup() {
    const who = $("me");
    BOOT.people.forEach((p) => {
      const option = el("option", "", esc(p.name + (p.title ? ` (${p.title})` : "")));
      option.value = p.id; who.append(option);
    });
    who.value = me;
    who.onchange = () => { me = who.value; localStorage.setItem("standin.me", me); shownModal = ""; refresh(); };
    const samples = $("sample");
    BOOT.samples.forEach((name) => { const o = el("option", "", esc(name)); o.value = name; samples.append(o); });
    $("alerts").classList.toggle("hidden", !BOOT.samples.length);
    $("fire").onclick = () => post("alert", { sample: samples.value, status: "firing" });
    $("resolve").onclick = () => post("alert", { sample: samples.value, status: "resolved" });
    $("demo").classList.toggle("hidden", !BOOT.demo);
    $("demo-break").onclick = () => post("demo", { action: "break" });
    $("home-link").onclick = (e) => { e.preventDefault(); open("home"); };
    $("send").onclick = () => send($("input"));
    $("input").onkeydown = (e) => { if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); send($("input")); } };
    $("thread-send").onclick = () => send($("thread-input"), thread);
    $("thread-input").onkeydown = (e) => { if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); send($("thread-input"), thread); } };
    $("thread-close").onclick = () => { thread = null; draw(); };
    $("input").placeholder = "Message, @opsbot, or " + BOOT.commands.join(" ");
    if (!current) {
      const first = state.conversations.find((c) => c.bot_member && c.messages.length) || state.conversations[0];
      current = first ? first.id : "";
    }
    const stream = new EventSource("/ui/stream");
    stream.addEventListener("changed", () => refresh());
    if (me !== BOOT.me) refresh(); else draw();
    if (current === "home") post("home", {});
  }

  setup();
})();
