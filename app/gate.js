// Runs before index.html's first paint: which screen the page shows while the app's wasm is still
// on its way. A phone that has never logged in gets the login form at once, to type into on a slow
// link; the app takes over what was typed (app/src/routes/login.rs). A logged-in phone, or one set
// to English, gets the opening message instead. The keys are the app's own (app/src/state.rs,
// app/src/language.rs).
(function () {
  var wait = true;
  try {
    var language = localStorage.getItem('shequ.language');
    wait = localStorage.getItem('shequ.signed_in') === '1' || (language !== null && language !== 'zh-CN');
  } catch (e) {
    // No storage (a locked-down browser): the login form is the safer guess.
    wait = false;
  }
  if (wait) document.documentElement.classList.add('boot-wait');
  // A login sent before the app runs waits for it: nothing leaves the page, and the form says so.
  document.addEventListener('submit', function (e) {
    if (e.target.id !== 'boot-login') return;
    e.preventDefault();
    e.target.setAttribute('data-sent', '1');
  });
  document.addEventListener('click', function (e) {
    if (!e.target.closest || !e.target.closest('#boot-language')) return;
    try {
      localStorage.setItem('shequ.language', 'en');
    } catch (err) {
      return;
    }
    document.documentElement.classList.add('boot-wait');
  });
})();
