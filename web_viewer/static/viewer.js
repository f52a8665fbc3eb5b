/* The web viewer, with JavaScript: the slide links switch slides in place (without it they
   load ?slide=N), and the Play button shows each slide for its SMIL duration (data-duration,
   in ms), playing its sound or video, until the last. */
(function () {
  "use strict";
  var slides = Array.prototype.slice.call(document.querySelectorAll(".slide"));
  if (!slides.length) { return; }
  var current = Math.max(0, slides.findIndex(function (s) { return !s.hidden; }));
  var timer = null;
  var button = document.querySelector("[data-play]");

  function stopMedia(slide) {
    slide.querySelectorAll("audio, video").forEach(function (m) { m.pause(); });
  }

  function show(index, focus) {
    if (index < 0 || index >= slides.length) { return; }
    stopMedia(slides[current]);
    slides[current].hidden = true;
    current = index;
    slides[current].hidden = false;
    history.replaceState(null, "", "?slide=" + (current + 1));
    if (focus) { slides[current].querySelector("h2").focus(); }
  }

  function setPlaying(on) {
    clearTimeout(timer);
    timer = null;
    button.setAttribute("aria-pressed", on ? "true" : "false");
    button.textContent = on ? button.dataset.pauseLabel : button.dataset.playLabel;
    if (on) { step(); } else { stopMedia(slides[current]); }
  }

  function step() {
    var slide = slides[current];
    slide.querySelectorAll("audio, video").forEach(function (m) {
      m.currentTime = 0;
      var playing = m.play();
      if (playing && playing.catch) { playing.catch(function () {}); }
    });
    timer = setTimeout(function () {
      if (current + 1 < slides.length) { show(current + 1, false); step(); }
      else { setPlaying(false); }
    }, parseInt(slide.dataset.duration, 10) || 5000);
  }

  slides.forEach(function (s) { s.querySelector("h2").setAttribute("tabindex", "-1"); });
  document.addEventListener("click", function (event) {
    var link = event.target.closest("a[data-slide]");
    if (!link) { return; }
    event.preventDefault();
    if (timer) { setPlaying(false); }
    show(parseInt(link.dataset.slide, 10) - 1, true);
  });
  if (button && slides.length > 1) {
    button.closest("[data-player]").hidden = false;
    button.addEventListener("click", function () { setPlaying(timer === null); });
  }
}());
