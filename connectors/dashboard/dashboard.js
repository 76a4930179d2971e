/* seabus on-call: keep the overdue table current by polling /v1/overdue, without reloading the page.
   Rows are built with DOM methods (textContent only), in the same shape as the server renders them. */
(function () {
  "use strict";

  var table = document.getElementById("overdue");
  var form = document.getElementById("filters");
  var summary = document.getElementById("summary");
  if (!table || !form || !summary) {
    return;
  }
  var body = table.tBodies[0];
  var pollMs = parseInt(table.getAttribute("data-poll-ms"), 10) || 5000;
  var timer = null;
  var generation = 0; /* a newer request (a filter change) makes older answers stale */

  var LEVELS = {
    NONE: "Not escalated",
    REMINDER: "Reminder sent",
    OVERDUE: "Overdue",
    SECOND_LEVEL: "Second level",
  };
  var OBLIGATIONS = {
    ACKNOWLEDGE: "Acknowledge receipt",
    DECIDE: "Decide on investigation",
    REPORT_OUTCOME: "Report the outcome",
  };

  function plural(n, unit) {
    return n + " " + unit;
  }

  function duration(seconds) {
    var s = Math.floor(Math.abs(seconds));
    if (s < 60) {
      return plural(s, "s");
    }
    if (s < 3600) {
      return plural(Math.floor(s / 60), "min") + " " + plural(s % 60, "s");
    }
    if (s < 86400) {
      return plural(Math.floor(s / 3600), "h") + " " + plural(Math.floor((s % 3600) / 60), "min");
    }
    return plural(Math.floor(s / 86400), "d") + " " + plural(Math.floor((s % 86400) / 3600), "h");
  }

  function utc(iso) {
    return new Date(iso).toISOString().slice(0, 19).replace("T", " ");
  }

  function cell(tag, label) {
    var c = document.createElement(tag);
    if (tag === "th") {
      c.setAttribute("scope", "row");
      c.setAttribute("role", "rowheader");
    } else {
      c.setAttribute("role", "cell");
      c.setAttribute("data-label", label);
    }
    return c;
  }

  function textCell(label, text) {
    var c = cell("td", label);
    c.textContent = text;
    return c;
  }

  function row(item) {
    var tr = document.createElement("tr");
    tr.setAttribute("role", "row");
    tr.className = "status-" + item.status;
    tr.setAttribute("data-key", item.obligation_key);
    tr.setAttribute("data-allegation", item.allegation_id);
    tr.setAttribute("data-recipient", item.recipient);
    tr.setAttribute("data-level", item.level || "NONE");
    tr.setAttribute("data-status", item.status);

    var ref = cell("th", "Allegation");
    var link = document.createElement("a");
    link.href = "/allegations/" + encodeURIComponent(item.allegation_id);
    link.textContent = item.allegation_id;
    link.className = "ref";
    ref.appendChild(link);
    tr.appendChild(ref);

    tr.appendChild(textCell("Recipient", item.recipient));
    tr.appendChild(textCell("Obligation", OBLIGATIONS[item.obligation] || item.obligation));
    tr.appendChild(textCell("Due (UTC)", utc(item.due_at)));

    var late = cell("td", "Overdue by");
    var span = document.createElement("span");
    if (item.status === "OVERDUE") {
      span.className = "late";
      span.textContent = duration(item.overdue_by_s);
    } else {
      span.className = "early";
      span.textContent = "due in " + duration(item.overdue_by_s);
    }
    late.appendChild(span);
    tr.appendChild(late);

    var level = item.level || "NONE";
    var levelCell = cell("td", "Escalation level");
    var badge = document.createElement("span");
    badge.className = "badge level-" + level;
    badge.textContent = (LEVELS[level] || level) + (item.repeat > 0 ? " (repeat " + item.repeat + ")" : "");
    levelCell.appendChild(badge);
    tr.appendChild(levelCell);

    tr.appendChild(textCell("Reporting entity", item.reporting_entity || "unknown"));
    return tr;
  }

  function emptyRow() {
    var tr = document.createElement("tr");
    tr.className = "empty";
    tr.setAttribute("role", "row");
    var td = document.createElement("td");
    td.setAttribute("colspan", "7");
    td.setAttribute("role", "cell");
    td.textContent = "No open obligations match these filters.";
    tr.appendChild(td);
    return tr;
  }

  function syncOptions(select, values, allLabel) {
    var chosen = select.value;
    var wanted = values.slice();
    if (chosen && wanted.indexOf(chosen) < 0) {
      wanted.push(chosen);
    }
    var present = [];
    for (var i = 1; i < select.options.length; i++) {
      present.push(select.options[i].value);
    }
    if (present.join("\n") === wanted.join("\n")) {
      return;
    }
    while (select.options.length > 0) {
      select.remove(0);
    }
    select.add(new Option(allLabel, ""));
    wanted.forEach(function (v) {
      select.add(new Option(v, v, false, v === chosen));
    });
  }

  function say(report) {
    var time = utc(report.as_of).slice(11);
    var text = report.overdue + " overdue, " + report.due + " not yet due · updated " + time + " UTC";
    if (report.truncated) {
      text += " · showing the first " + report.items.length;
    }
    if (!report.caught_up) {
      text += " · still reading the history, the list may be incomplete";
    }
    summary.textContent = text;
  }

  function render(report) {
    var rows = document.createDocumentFragment();
    report.items.forEach(function (item) {
      rows.appendChild(row(item));
    });
    if (report.items.length === 0) {
      rows.appendChild(emptyRow());
    }
    while (body.firstChild) {
      body.removeChild(body.firstChild);
    }
    body.appendChild(rows);
    syncOptions(form.elements.recipient, report.recipients, "All recipients");
    syncOptions(form.elements.reporting_entity, report.reporting_entities, "All entities");
    say(report);
  }

  function query() {
    var params = new URLSearchParams();
    ["recipient", "reporting_entity", "level"].forEach(function (name) {
      var value = form.elements[name].value;
      if (value) {
        params.append(name, value);
      }
    });
    return params.toString();
  }

  function signedOut() {
    summary.textContent = "";
    summary.appendChild(document.createTextNode("Your session has ended. "));
    var link = document.createElement("a");
    link.href = "/dashboard/login?next=" + encodeURIComponent(location.pathname + location.search);
    link.textContent = "Sign in again";
    summary.appendChild(link);
  }

  function refresh() {
    var mine = ++generation;
    var q = query();
    fetch("/v1/overdue" + (q ? "?" + q : ""), {
      credentials: "same-origin",
      headers: { Accept: "application/json" },
      cache: "no-store",
    })
      .then(function (response) {
        if (mine !== generation) {
          return null;
        }
        if (response.status === 401) {
          signedOut();
          stop();
          return null;
        }
        if (!response.ok) {
          throw new Error("HTTP " + response.status);
        }
        return response.json();
      })
      .then(function (report) {
        if (report && mine === generation) {
          render(report);
          table.setAttribute("data-updated", report.as_of);
        }
      })
      .catch(function (error) {
        if (mine === generation) {
          summary.textContent = "Could not refresh (" + error.message + "); retrying.";
        }
      });
  }

  function stop() {
    if (timer !== null) {
      clearInterval(timer);
      timer = null;
    }
  }

  function applyFilters(event) {
    if (event) {
      event.preventDefault();
    }
    var q = query();
    history.replaceState(null, "", "/dashboard" + (q ? "?" + q : ""));
    refresh();
  }

  form.addEventListener("submit", applyFilters);
  form.addEventListener("change", function () {
    applyFilters(null);
  });
  timer = setInterval(refresh, pollMs);
})();
