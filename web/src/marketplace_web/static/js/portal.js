// Progressive enhancement for the portal's server-rendered pages: every page works without it.
(function () {
  "use strict";

  // -- live search: results swap in place, the URL follows, back and forward work -------------
  function liveSearch(form) {
    var results = document.getElementById("results");
    if (!results || !window.fetch || !window.history) { return; }
    var timer = null;
    var latest = 0;

    function load(url, push) {
      var ticket = ++latest;
      results.setAttribute("aria-busy", "true");
      fetch(url, { headers: { "X-Portal-Fragment": "results" }, credentials: "same-origin" })
        .then(function (response) { return response.text(); })
        .then(function (html) {
          if (ticket !== latest) { return; }
          results.innerHTML = html;
          results.removeAttribute("aria-busy");
          if (push) { history.pushState({ portal: "results" }, "", url); }
        })
        .catch(function () { window.location.href = url; });
    }

    function formUrl() {
      var params = new URLSearchParams(new FormData(form));
      params.forEach(function (value, key) { if (value === "") { params.delete(key); } });
      var query = params.toString();
      return form.getAttribute("action") + (query ? "?" + query : "");
    }

    form.addEventListener("input", function (event) {
      if (event.target.name !== "search") { return; }
      clearTimeout(timer);
      timer = setTimeout(function () { load(formUrl(), true); }, 250);
    });
    form.addEventListener("change", function (event) {
      if (event.target.tagName === "SELECT") { load(formUrl(), true); }
    });
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      load(formUrl(), true);
    });
    results.addEventListener("click", function (event) {
      var link = event.target.closest("a");
      if (!link || link.origin !== window.location.origin || link.pathname !== window.location.pathname) { return; }
      if (event.metaKey || event.ctrlKey || event.shiftKey || event.button !== 0) { return; }
      event.preventDefault();
      syncForm(new URL(link.href).searchParams);
      load(link.pathname + link.search, true);
    });
    window.addEventListener("popstate", function () {
      syncForm(new URLSearchParams(window.location.search));
      load(window.location.pathname + window.location.search, false);
    });

    // The hidden filter inputs and the visible ones follow the URL, so typing keeps the filters.
    function syncForm(params) {
      Array.prototype.forEach.call(form.querySelectorAll("input[type=hidden]"), function (input) { input.remove(); });
      ["search", "sort", "order"].forEach(function (name) {
        var field = form.elements[name];
        if (field) { field.value = params.get(name) || (name === "sort" ? "popularity" : name === "order" ? "desc" : ""); }
      });
      params.forEach(function (value, key) {
        if (["search", "sort", "order", "page"].indexOf(key) >= 0) { return; }
        var hidden = document.createElement("input");
        hidden.type = "hidden"; hidden.name = key; hidden.value = value;
        form.appendChild(hidden);
      });
    }
  }

  // -- tabs over the configuration: the radio chooses which panel shows ------------------------
  function tabs(container) {
    var radios = container.querySelectorAll("[data-tab-target]");
    function show() {
      Array.prototype.forEach.call(radios, function (radio) {
        var panel = document.getElementById(radio.getAttribute("data-tab-target"));
        if (panel) { panel.hidden = !radio.checked; }
      });
    }
    Array.prototype.forEach.call(radios, function (radio) { radio.addEventListener("change", show); });
    show();
  }

  // -- the install form: another version reloads the page for it --------------------------------
  function reloadOnChange(select) {
    select.addEventListener("change", function () {
      var form = select.form;
      var params = new URLSearchParams();
      ["version", "environment", "namespace", "deploymentStrategy"].forEach(function (name) {
        if (form.elements[name]) { params.set(name, form.elements[name].value); }
      });
      window.location.search = params.toString();
    });
  }

  // -- an installation, live: poll the portal for status and new log lines ------------------------
  function followJob(section) {
    if (section.getAttribute("data-final") === "true" || !window.fetch) { return; }
    var url = section.getAttribute("data-progress-url");
    var cursor = section.getAttribute("data-cursor") || "";
    var log = document.getElementById("job-log");
    var bar = document.getElementById("job-progress");
    function field(name) { return section.querySelector("[data-field=" + name + "]"); }
    function tick() {
      fetch(url + (cursor ? "?cursor=" + encodeURIComponent(cursor) : ""), { credentials: "same-origin",
                                                                               headers: { "Accept": "application/json" } })
        .then(function (response) { if (!response.ok) { throw new Error(response.status); } return response.json(); })
        .then(function (state) {
          cursor = state.cursor || cursor;
          var status = field("status");
          status.textContent = state.status;
          status.className = "status status-" + state.status;
          var percentage = (state.progress && state.progress.percentage) || 0;
          bar.value = percentage;
          bar.textContent = percentage + "%";
          field("percentage").textContent = percentage + "%";
          field("step").textContent = (state.progress && state.progress.currentStep) || "";
          if (state.error) {
            var box = field("error");
            box.textContent = state.error.message || String(state.error);
            box.hidden = false;
          }
          state.logs.forEach(function (line) {
            var item = document.createElement("li");
            item.className = "log-" + line.level;
            var time = document.createElement("time");
            // As the server writes it: 2026-12-01 10:00:00 UTC.
            time.textContent = (line.timestamp || "").replace("T", " ").replace(/\.\d+/, "").replace(/Z$/, " UTC");
            var step = document.createElement("span");
            step.className = "log-step";
            step.textContent = line.step || "";
            item.appendChild(time);
            item.appendChild(document.createTextNode(" "));
            item.appendChild(step);
            item.appendChild(document.createTextNode(" " + line.message));
            log.appendChild(item);
          });
          if (state.final) {
            section.setAttribute("data-final", "true");
            Array.prototype.forEach.call(section.querySelectorAll("[data-hide-when-final]"), function (el) { el.hidden = true; });
            Array.prototype.forEach.call(section.querySelectorAll("[data-show-when-final]"), function (el) { el.hidden = false; });
            return;
          }
          setTimeout(tick, 700);
        })
        .catch(function () { setTimeout(tick, 2000); });
    }
    setTimeout(tick, 300);
  }

  document.addEventListener("DOMContentLoaded", function () {
    var form = document.querySelector("[data-live-search]");
    if (form) { liveSearch(form); }
    Array.prototype.forEach.call(document.querySelectorAll("[data-tabs]"), tabs);
    Array.prototype.forEach.call(document.querySelectorAll("[data-reload-on-change]"), reloadOnChange);
    var job = document.querySelector("[data-progress-url]");
    if (job) { followJob(job); }
  });
})();
