// Block Kit to DOM: header, section (text, fields, accessory), context, divider, actions, image, input,
// rich_text, file; buttons, selects, overflow menus, radio buttons, checkboxes, date pickers, text inputs.
// ctx: {users, channels, usergroups, onAction(action), errors: {block_id: message}}.
"use strict";

(function () {
  const { mrkdwn, plainText, esc } = window.Mrkdwn;

  function el(tag, cls, html) {
    const node = document.createElement(tag);
    if (cls) node.className = cls;
    if (html !== undefined) node.innerHTML = html;
    return node;
  }

  function text(obj, ctx) {
    if (!obj) return "";
    if (typeof obj === "string") return plainText(obj);
    return obj.type === "mrkdwn" ? mrkdwn(obj.text, ctx) : plainText(obj.text);
  }

  function optionOf(option) {
    return { text: option.text, value: option.value };
  }

  function allOptions(element) {
    if (element.option_groups) return element.option_groups.flatMap((g) => g.options || []);
    return element.options || [];
  }

  function askConfirm(confirm, ctx, then) {
    if (!confirm) return then();
    const overlay = el("div", "overlay confirm");
    const box = el("div", "modal");
    box.append(el("h3", "", plainText(confirm.title && confirm.title.text)), el("div", "", text(confirm.text, ctx)));
    const row = el("div", "modal-actions");
    const deny = el("button", "btn", plainText((confirm.deny && confirm.deny.text) || "Cancel"));
    const ok = el("button", "btn primary", plainText((confirm.confirm && confirm.confirm.text) || "Yes"));
    deny.onclick = () => overlay.remove();
    ok.onclick = () => { overlay.remove(); then(); };
    row.append(deny, ok); box.append(row); overlay.append(box); document.body.append(overlay);
  }

  // An interactive element; `blockId` and ctx.onAction make it send block_actions.
  function element(node, blockId, ctx, inInput) {
    const fire = (action) => ctx.onAction && ctx.onAction({ ...action, block_id: blockId, action_id: node.action_id });
    const kind = node.type;
    if (kind === "button") {
      const button = el("button", "btn" + (node.style ? " " + node.style : ""), plainText(node.text && node.text.text));
      button.dataset.actionId = node.action_id || "";
      if (node.url && /^https?:/i.test(node.url)) {
        button.onclick = () => { window.open(node.url, "_blank", "noopener"); if (node.action_id) fire(buttonAction()); };
      } else {
        button.onclick = () => askConfirm(node.confirm, ctx, () => fire(buttonAction()));
      }
      function buttonAction() {
        const action = { type: "button", text: node.text, value: node.value };
        if (node.style) action.style = node.style;
        return action;
      }
      return button;
    }
    if (kind === "static_select" || kind === "external_select" || kind === "users_select" || kind === "channels_select" || kind === "conversations_select") {
      const select = el("select", "select");
      select.dataset.actionId = node.action_id || "";
      select.dataset.type = kind;
      const placeholder = el("option", "", plainText((node.placeholder && node.placeholder.text) || "Select an item"));
      placeholder.value = ""; select.append(placeholder);
      let options = allOptions(node);
      if (kind === "users_select") options = Object.entries(ctx.users || {}).map(([id, name]) => ({ text: { type: "plain_text", text: name }, value: id }));
      if (kind === "channels_select" || kind === "conversations_select") options = Object.entries(ctx.channels || {}).map(([id, name]) => ({ text: { type: "plain_text", text: "#" + name }, value: id }));
      options.forEach((option) => {
        const item = el("option", "", plainText(option.text && option.text.text));
        item.value = option.value;
        select.append(item);
      });
      const initial = node.initial_option && node.initial_option.value || node.initial_user || node.initial_channel || node.initial_conversation;
      if (initial) select.value = initial;
      select._options = options;
      if (!inInput || node.dispatch_action) {
        select.onchange = () => {
          const option = options.find((o) => o.value === select.value);
          if (option) fire({ type: kind, selected_option: optionOf(option), placeholder: node.placeholder });
        };
      }
      return select;
    }
    if (kind === "overflow") {
      const wrap = el("span", "overflow");
      const toggle = el("button", "btn overflow-toggle", "⋯");
      toggle.dataset.actionId = node.action_id || "";
      const menu = el("div", "overflow-menu hidden");
      (node.options || []).forEach((option) => {
        const item = el("button", "overflow-item", plainText(option.text && option.text.text));
        item.onclick = () => { menu.classList.add("hidden"); fire({ type: "overflow", selected_option: optionOf(option) }); };
        menu.append(item);
      });
      toggle.onclick = () => menu.classList.toggle("hidden");
      wrap.append(toggle, menu);
      return wrap;
    }
    if (kind === "radio_buttons" || kind === "checkboxes") {
      const group = el("div", "choices");
      group.dataset.actionId = node.action_id || "";
      group.dataset.type = kind;
      const name = "c" + Math.random().toString(36).slice(2);
      const initial = new Set(kind === "radio_buttons" ? [node.initial_option && node.initial_option.value]
        : (node.initial_options || []).map((o) => o.value));
      (node.options || []).forEach((option) => {
        const label = el("label", "choice");
        const input = document.createElement("input");
        input.type = kind === "radio_buttons" ? "radio" : "checkbox";
        input.name = name; input.value = option.value; input.checked = initial.has(option.value);
        input._option = option;
        label.append(input, el("span", "", text(option.text, ctx)));
        if (option.description) label.append(el("div", "hint", text(option.description, ctx)));
        group.append(label);
      });
      if (!inInput || node.dispatch_action) {
        group.onchange = () => {
          const chosen = [...group.querySelectorAll("input:checked")].map((i) => optionOf(i._option));
          fire(kind === "radio_buttons" ? { type: kind, selected_option: chosen[0] } : { type: kind, selected_options: chosen });
        };
      }
      return group;
    }
    if (kind === "datepicker" || kind === "timepicker") {
      const input = el("input", "text-input");
      input.type = kind === "datepicker" ? "date" : "time";
      input.dataset.actionId = node.action_id || "";
      input.dataset.type = kind;
      if (node.initial_date) input.value = node.initial_date;
      if (node.initial_time) input.value = node.initial_time;
      if (!inInput) input.onchange = () => fire(kind === "datepicker" ? { type: kind, selected_date: input.value } : { type: kind, selected_time: input.value });
      return input;
    }
    if (kind === "plain_text_input" || kind === "url_text_input" || kind === "email_text_input" || kind === "number_input") {
      const input = node.multiline ? el("textarea", "text-input") : el("input", "text-input");
      if (!node.multiline) input.type = kind === "number_input" ? "number" : kind === "email_text_input" ? "email" : "text";
      input.dataset.actionId = node.action_id || "";
      input.dataset.type = kind;
      if (node.placeholder) input.placeholder = node.placeholder.text;
      if (node.initial_value !== undefined) input.value = node.initial_value;
      if (node.max_length) input.maxLength = node.max_length;
      return input;
    }
    if (kind === "image") {
      const img = el("img", "thumb");
      img.src = node.image_url || ""; img.alt = node.alt_text || ""; img.title = node.alt_text || "";
      return img;
    }
    return el("span", "unsupported", esc(`[${kind}]`));
  }

  function block(node, index, ctx) {
    const blockId = node.block_id || `b${index}`;
    const wrap = el("div", "block block-" + node.type);
    wrap.dataset.blockId = blockId;
    switch (node.type) {
      case "header":
        wrap.append(el("h2", "", plainText(node.text && node.text.text)));
        break;
      case "section": {
        const body = el("div", "section-body");
        if (node.text) body.append(el("div", "section-text", text(node.text, ctx)));
        if (node.fields) {
          const fields = el("div", "fields");
          node.fields.forEach((f) => fields.append(el("div", "field", text(f, ctx))));
          body.append(fields);
        }
        wrap.append(body);
        if (node.accessory) {
          const accessory = el("div", "accessory");
          accessory.append(element(node.accessory, blockId, ctx, false));
          wrap.append(accessory);
        }
        break;
      }
      case "context":
        (node.elements || []).forEach((e) => wrap.append(e.type === "image" ? element(e, blockId, ctx) : el("span", "", text(e, ctx))));
        break;
      case "divider":
        wrap.append(el("hr"));
        break;
      case "actions":
        (node.elements || []).forEach((e) => wrap.append(element(e, blockId, ctx, false)));
        break;
      case "image": {
        if (node.title) wrap.append(el("div", "image-title", plainText(node.title.text)));
        const img = el("img", "image");
        img.src = node.image_url || ""; img.alt = node.alt_text || "";
        wrap.append(img);
        break;
      }
      case "input": {
        const label = el("label", "input-label", plainText(node.label && node.label.text) + (node.optional ? ' <span class="hint">(optional)</span>' : ""));
        const field = element(node.element || {}, blockId, ctx, true);
        wrap.classList.add("input-block");
        if (node.optional) wrap.dataset.optional = "1";
        wrap.append(label, field);
        if (node.hint) wrap.append(el("div", "hint", plainText(node.hint.text)));
        break;
      }
      case "rich_text":
        wrap.append(el("div", "", plainText(flatten(node))));
        break;
      default:
        wrap.append(el("span", "unsupported", esc(`[${node.type} block]`)));
    }
    return wrap;
  }

  function flatten(node) {
    if (Array.isArray(node)) return node.map(flatten).join("");
    if (!node || typeof node !== "object") return "";
    if (node.elements) return flatten(node.elements);
    return node.text || node.url || node.name || "";
  }

  function render(blocks, ctx) {
    const wrap = el("div", "blocks");
    (blocks || []).forEach((b, i) => wrap.append(block(b, i, ctx)));
    return wrap;
  }

  // view.state.values from the inputs of a rendered view: {block_id: {action_id: {type, value...}}}.
  function collectState(container) {
    const values = {};
    container.querySelectorAll(".block").forEach((blockNode) => {
      const field = blockNode.querySelector("[data-action-id]");
      if (!field || !blockNode.classList.contains("input-block")) return;
      const type = field.dataset.type;
      let state;
      if (type === "radio_buttons" || type === "checkboxes") {
        const chosen = [...field.querySelectorAll("input:checked")].map((i) => optionOf(i._option));
        state = type === "radio_buttons" ? { type, selected_option: chosen[0] || null } : { type, selected_options: chosen };
      } else if (field.tagName === "SELECT") {
        const option = (field._options || []).find((o) => o.value === field.value);
        if (type === "users_select") state = { type, selected_user: field.value || null };
        else if (type === "channels_select") state = { type, selected_channel: field.value || null };
        else if (type === "conversations_select") state = { type, selected_conversation: field.value || null };
        else state = { type, selected_option: option ? optionOf(option) : null };
      } else if (type === "datepicker") {
        state = { type, selected_date: field.value || null };
      } else if (type === "timepicker") {
        state = { type, selected_time: field.value || null };
      } else {
        state = { type, value: field.value === "" ? null : field.value };
      }
      values[blockNode.dataset.blockId] = { [field.dataset.actionId]: state };
    });
    return values;
  }

  // Errors under the inputs they name ({block_id: message}), leaving what was typed in place.
  function showErrors(container, errors) {
    container.querySelectorAll(".input-error").forEach((node) => node.remove());
    container.querySelectorAll(".input-block").forEach((blockNode) => {
      const message = errors && errors[blockNode.dataset.blockId];
      if (message) blockNode.append(el("div", "input-error", plainText(message)));
    });
  }

  // Slack's client refuses to submit a modal while a required input is empty.
  function missingInputs(container, values) {
    const missing = {};
    container.querySelectorAll(".input-block").forEach((blockNode) => {
      if (blockNode.dataset.optional) return;
      const state = Object.values(values[blockNode.dataset.blockId] || {})[0] || {};
      const filled = state.value || state.selected_option || (state.selected_options && state.selected_options.length)
        || state.selected_date || state.selected_time || state.selected_user || state.selected_channel || state.selected_conversation;
      if (!filled) missing[blockNode.dataset.blockId] = "Please complete this required field.";
    });
    return missing;
  }

  window.BlockKit = { render, collectState, showErrors, missingInputs, text, el };
})();
