// zveno web view: a little behaviour, no framework. Lists submit their filters on change,
// and "/" focuses the search box.
document.querySelectorAll("[data-autosubmit]").forEach(function (el) {
  el.addEventListener("change", function () { el.form.submit(); });
});
document.addEventListener("keydown", function (e) {
  var box = document.querySelector("input[type=search]");
  if (e.key === "/" && box && document.activeElement !== box) { e.preventDefault(); box.focus(); }
});
