/* seabus on-call: keep the overdue table current by polling /v1/overdue, and the summary band by
   polling /v1/overdue/summary, without reloading the page. Rows, counts and the trend chart are built
   with DOM methods (textContent only), in the same shape as the server renders them (render.py). */
(function () {
  "use strict";

  var table = document.getElementById("overdue");
  var form = document.getElementById("filters");
  var summary = document.getElementById("summary");
  if (!table || !form || !summary) {
    return;
  }
  var body = table.tBodies[0];
  var band = document.getElementById("band");
  var SVG = "http://www.w3.org/2000/svg";
  var CHART_W = 300;
  var CHART_H = 60;
  var BAR_GAP = 2;
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

  /* No-break spaces: in a narrow column a duration stays whole (render.py does the same). */
  function unbroken(text) {
    return text.replace(/ /g, "\u00a0");
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

  /* A value that may be long (an id): it wraps in its cell, and its title holds it whole. */
  function longCell(label, text) {
    var c = cell("td", label);
    var span = document.createElement("span");
    span.className = "long";
    span.title = text;
    span.textContent = text;
    c.appendChild(span);
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
    link.title = item.allegation_id;
    link.className = "ref";
    ref.appendChild(link);
    tr.appendChild(ref);

    tr.appendChild(longCell("Recipient", item.recipient));
    tr.appendChild(textCell("Obligation", OBLIGATIONS[item.obligation] || item.obligation));
    tr.appendChild(textCell("Due (UTC)", utc(item.due_at)));

    var late = cell("td", "Overdue by");
    var span = document.createElement("span");
    if (item.status === "OVERDUE") {
      span.className = "late";
      span.textContent = unbroken(duration(item.overdue_by_s));
    } else {
      span.className = "early";
      span.textContent = "due in " + unbroken(duration(item.overdue_by_s));
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

    tr.appendChild(longCell("Reporting entity", item.reporting_entity || "unknown"));
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

  /* -- the summary band ------------------------------------------------------------------- */

  function clear(node) {
    while (node.firstChild) {
      node.removeChild(node.firstChild);
    }
  }

  function countItem(href, label, count, badgeLevel) {
    var li = document.createElement("li");
    var holder = li;
    if (href) {
      holder = document.createElement("a");
      holder.href = href;
      holder.title = label + ": " + count + " overdue";
      li.appendChild(holder);
    } else {
      li.className = "others";
    }
    var name = document.createElement("span");
    if (badgeLevel) {
      name.className = "badge level-" + badgeLevel;
    } else {
      name.className = "name";
    }
    name.textContent = label;
    holder.appendChild(name);
    var n = document.createElement("span");
    n.className = "n";
    n.textContent = String(count);
    var hidden = document.createElement("span");
    hidden.className = "visually-hidden";
    hidden.textContent = " overdue";
    n.appendChild(hidden);
    holder.appendChild(n);
    return li;
  }

  function nothingItem() {
    var li = document.createElement("li");
    li.className = "none";
    li.textContent = "Nothing is overdue.";
    return li;
  }

  function filterLink(params) {
    return "/dashboard?" + new URLSearchParams(params).toString();
  }

  function fill(list, items) {
    clear(list);
    items.forEach(function (item) {
      list.appendChild(item);
    });
    if (items.length === 0) {
      list.appendChild(nothingItem());
    }
  }

  function trendText(days) {
    var values = days.map(function (d) {
      return d.overdue;
    });
    return (
      "Overdue at the end of each day, " + days[0].day + " to " + days[days.length - 1].day +
      ": lowest " + Math.min.apply(null, values) + ", highest " + Math.max.apply(null, values) +
      ", now " + values[values.length - 1]
    );
  }

  function svg(tag, attrs) {
    var node = document.createElementNS(SVG, tag);
    Object.keys(attrs).forEach(function (k) {
      node.setAttribute(k, attrs[k]);
    });
    return node;
  }

  function chart(days) {
    var peak = Math.max.apply(null, days.map(function (d) { return d.overdue; }));
    var scale = peak ? (CHART_H - 4) / peak : 0;
    var width = CHART_W / days.length;
    var root = svg("svg", {
      class: "chart",
      viewBox: "0 0 " + CHART_W + " " + CHART_H,
      preserveAspectRatio: "none",
      role: "img",
      "aria-labelledby": "trend-svg-title",
      focusable: "false",
    });
    var title = svg("title", { id: "trend-svg-title" });
    title.textContent = trendText(days);
    root.appendChild(title);
    root.appendChild(svg("line", { class: "axis", x1: 0, y1: CHART_H - 0.5, x2: CHART_W, y2: CHART_H - 0.5 }));
    days.forEach(function (d, i) {
      var height = d.overdue * scale;
      var bar = svg("rect", {
        class: "bar" + (i === days.length - 1 ? " today" : ""),
        x: (i * width + BAR_GAP / 2).toFixed(2),
        y: (CHART_H - height).toFixed(2),
        width: (width - BAR_GAP).toFixed(2),
        height: height.toFixed(2),
      });
      var tip = svg("title", {});
      tip.textContent = d.day + ": " + d.overdue + " overdue at the end of the day, " + d.newly_overdue +
        " newly overdue, " + d.closed_late + " closed late";
      bar.appendChild(tip);
      root.appendChild(bar);
    });
    return root;
  }

  function dayLabel(iso) {
    var d = new Date(iso + "T00:00:00Z");
    var months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    return ("0" + d.getUTCDate()).slice(-2) + " " + months[d.getUTCMonth()];
  }

  function renderBand(s) {
    var recipients = s.by_recipient.map(function (r) {
      return countItem(filterLink({ recipient: r.recipient, status: "OVERDUE" }), r.recipient, r.overdue);
    });
    if (s.other_recipients > 0) {
      var label = s.other_recipients + " other recipient" + (s.other_recipients > 1 ? "s" : "");
      recipients.push(countItem(null, label, s.others));
    }
    fill(document.getElementById("band-recipients"), recipients);
    fill(
      document.getElementById("band-levels"),
      s.by_level.map(function (l) {
        return countItem(filterLink({ level: l.level, status: "OVERDUE" }), LEVELS[l.level] || l.level,
          l.overdue, l.level);
      })
    );
    if (s.trend.length === 0) {
      return;
    }
    document.getElementById("band-days").textContent = String(s.trend.length);
    document.getElementById("band-first").textContent = dayLabel(s.trend[0].day);
    var values = s.trend.map(function (d) {
      return d.overdue;
    });
    document.getElementById("band-note").textContent = "Highest " + Math.max.apply(null, values) +
      " \u00b7 now " + values[values.length - 1] + " (the dark red bar is today, so far)";
    var box = document.getElementById("band-chart");
    clear(box);
    box.appendChild(chart(s.trend));
    var rows = document.getElementById("band-trend").tBodies[0];
    clear(rows);
    s.trend.slice().reverse().forEach(function (d) {
      var tr = document.createElement("tr");
      tr.setAttribute("role", "row");
      var th = cell("th", "Day (UTC)");
      th.textContent = d.day;
      tr.appendChild(th);
      tr.appendChild(textCell("Overdue at day end", String(d.overdue)));
      tr.appendChild(textCell("Newly overdue", String(d.newly_overdue)));
      tr.appendChild(textCell("Closed late", String(d.closed_late)));
      rows.appendChild(tr);
    });
    band.setAttribute("data-updated", s.as_of);
  }

  function refreshBand() {
    if (!band) {
      return;
    }
    fetch("/v1/overdue/summary", {
      credentials: "same-origin",
      headers: { Accept: "application/json" },
      cache: "no-store",
    })
      .then(function (response) {
        return response.ok ? response.json() : null; /* the table's refresh reports errors and sign-out */
      })
      .then(function (s) {
        if (s) {
          renderBand(s);
        }
      })
      .catch(function () {});
  }

  /* A count in the band filters the table in place (its link works without a script too). */
  function followBand(event) {
    var link = event.target.closest ? event.target.closest("a[href^='/dashboard?']") : null;
    if (!link) {
      return;
    }
    event.preventDefault();
    var params = new URL(link.href).searchParams;
    ["recipient", "reporting_entity", "level", "status"].forEach(function (name) {
      var select = form.elements[name];
      var value = params.get(name) || "";
      if (value && !Array.prototype.some.call(select.options, function (o) { return o.value === value; })) {
        select.add(new Option(value, value));
      }
      select.value = value;
    });
    applyFilters(null);
  }

  function query() {
    var params = new URLSearchParams();
    ["recipient", "reporting_entity", "level", "status"].forEach(function (name) {
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

  function tick() {
    refresh();
    refreshBand();
  }

  if (band) {
    band.addEventListener("click", followBand);
  }
  form.addEventListener("submit", applyFilters);
  form.addEventListener("change", function () {
    applyFilters(null);
  });
  timer = setInterval(tick, pollMs);
})();
