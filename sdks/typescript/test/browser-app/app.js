// The page under test: loads the SDK's ESM build as a browser would (<script type="module">).
import { captureMessage, init } from '/sdk/index.js';

const params = new URLSearchParams(location.search);
init({ dsn: params.get('dsn'), environment: 'browser-test', release: 'web@1.0.0', batchIntervalMs: 200 });

window.crash = () =>
  setTimeout(function renderCart() {
    const cart = undefined;
    return cart.items.length; // TypeError, uncaught
  });
window.rejectLater = () => {
  void Promise.reject(new RangeError('quantity out of range'));
};
window.captureThenLeave = (message) => {
  captureMessage(message, 'warning');
  location.href = 'about:blank';
};
window.pulsekitReady = true;
