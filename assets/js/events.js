// Events: the badge's print button, and the organisers' check-in page on a
// phone (camera scanning, live arrival counts). No inline script (CSP).
(function () {
  'use strict';

  document.addEventListener('click', function (event) {
    if (event.target.closest('[data-print]')) window.print();
  });

  var root = document.querySelector('[data-checkin]');
  if (!root) return;
  var base = root.getAttribute('data-checkin');
  var form = root.querySelector('[data-checkin-form]');
  var input = form.querySelector('input[name="code"]');
  var arrived = root.querySelector('[data-arrived]');
  var expected = root.querySelector('[data-expected]');

  // Live counts: every 10 seconds while the page is visible; stopped when
  // the session is gone (the page then needs a reload and a login).
  var timer = null;
  function refresh() {
    if (document.hidden) return;
    fetch(base + '/counts', { headers: { Accept: 'application/json' }, credentials: 'same-origin', redirect: 'manual' })
      .then(function (r) {
        if (!r.ok) { clearInterval(timer); return null; }
        return r.json();
      })
      .then(function (c) {
        if (!c) return;
        arrived.textContent = c.arrived;
        expected.textContent = c.expected;
      })
      .catch(function () { clearInterval(timer); });
  }
  timer = setInterval(refresh, 10000);

  // Scanning: the browser's BarcodeDetector when it has one, else jsQR
  // (vendored) on canvas frames. A code read fills the field and submits.
  var scanButton = root.querySelector('[data-scan]');
  var panel = root.querySelector('[data-scanner]');
  var video = root.querySelector('[data-video]');
  var status = root.querySelector('[data-scan-status]');
  var stopButton = root.querySelector('[data-scan-stop]');
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) return;
  var detector = null;
  if ('BarcodeDetector' in window) {
    try { detector = new window.BarcodeDetector({ formats: ['qr_code'] }); } catch (e) { detector = null; }
  }
  if (!detector && typeof window.jsQR !== 'function') return;
  scanButton.hidden = false;

  var stream = null;
  var canvas = document.createElement('canvas');
  var ctx = canvas.getContext('2d', { willReadFrequently: true });

  function stop() {
    if (stream) stream.getTracks().forEach(function (t) { t.stop(); });
    stream = null;
    panel.hidden = true;
    scanButton.focus();
  }

  function found(text) {
    stop();
    input.value = text;
    form.requestSubmit ? form.requestSubmit() : form.submit();
  }

  function tick() {
    if (!stream) return;
    if (video.readyState >= 2) {
      if (detector) {
        detector.detect(video).then(function (codes) {
          if (codes.length) found(codes[0].rawValue); else requestAnimationFrame(tick);
        }).catch(function () { requestAnimationFrame(tick); });
        return;
      }
      canvas.width = video.videoWidth;
      canvas.height = video.videoHeight;
      ctx.drawImage(video, 0, 0, canvas.width, canvas.height);
      var img = ctx.getImageData(0, 0, canvas.width, canvas.height);
      var code = window.jsQR(img.data, img.width, img.height, { inversionAttempts: 'dontInvert' });
      if (code && code.data) { found(code.data); return; }
    }
    requestAnimationFrame(tick);
  }

  scanButton.addEventListener('click', function () {
    navigator.mediaDevices.getUserMedia({ video: { facingMode: 'environment' }, audio: false })
      .then(function (s) {
        stream = s;
        panel.hidden = false;
        video.srcObject = s;
        video.play();
        status.textContent = 'Visez le QR code.';
        requestAnimationFrame(tick);
      })
      .catch(function () {
        panel.hidden = false;
        status.textContent = "La caméra n'est pas accessible : tapez le code à la main.";
      });
  });
  stopButton.addEventListener('click', stop);
})();
