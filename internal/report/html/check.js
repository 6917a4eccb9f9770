// Records script errors and, once laid out, how many data shapes each chart drew with a size:
// the page's own render check (tests read data-errors and data-rendered).
(function () {
  var errors = [];
  window.addEventListener("error", function (e) {
    errors.push(String(e.message));
    document.documentElement.setAttribute("data-errors", errors.join(" | "));
  });
  window.addEventListener("load", function () {
    var charts = document.querySelectorAll("figure.chart");
    for (var i = 0; i < charts.length; i++) {
      var drawn = 0, shapes = charts[i].querySelectorAll(".datum");
      for (var j = 0; j < shapes.length; j++) {
        var b = shapes[j].getBBox();
        if (b.width > 0 || b.height > 0) { drawn++; }
      }
      charts[i].setAttribute("data-rendered", String(drawn));
    }
    document.documentElement.setAttribute("data-errors", errors.join(" | "));
    document.documentElement.setAttribute("data-checked", "true");
  });
})();
