// Chrome preconnects to pages' origins on its own (the loading predictor on navigation start,
// resource hints), opening TCP connections from the browser's address that no request
// interception sees: measured, a destination saw two such connections per navigation of an
// anonymous tab. Network prediction is off while any tab is anonymous. It is a browser-wide
// setting, so it goes back to the user's choice once no tab is anonymous.
import browser from 'webextension-polyfill';

export async function setPredictionAllowed(allowed: boolean): Promise<void> {
  const setting = browser.privacy.network.networkPredictionEnabled;
  if (allowed) await setting.clear({});
  else await setting.set({ value: false });
}
