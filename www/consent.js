// The demo shop's cookie banner, not the tag's code: the real
// orestbida/cookieconsent v3 (vendored in vendor/cookieconsent/, loaded just
// before this file), configured here. It writes its cookie cc_cookie (the
// URI-encoded JSON with the accepted `categories`) and dispatches its window
// events (cc:onConsent on the first choice and on every later page load,
// cc:onChange when the visitor changes it), which the tag follows through
// goaltag('consent', 'source', {cookie: 'cc_cookie'}): analytics →
// analytics_storage; marketing → ad_storage, ad_user_data, ad_personalization.
// "Privacy settings" in the footer reopens its preferences.
(function () {
  CookieConsent.run({
    cookie: { name: 'cc_cookie', expiresAfterDays: 182 },
    // The library hides itself from browsers driven by WebDriver (bots, it
    // guesses); the demo's own browser tests are such visitors.
    hideFromBots: false,
    guiOptions: {
      consentModal: { layout: 'box', position: 'bottom right', equalWeightButtons: true },
      preferencesModal: { layout: 'box', equalWeightButtons: true }
    },
    categories: {
      necessary: { enabled: true, readOnly: true },
      analytics: {},
      marketing: {}
    },
    language: {
      default: 'en',
      translations: {
        en: {
          consentModal: {
            title: 'Cookies and tracking',
            description: 'Weekend Goods measures visits and orders with goaltag. ' +
              'Until you accept analytics, the tag sends nothing and stores nothing.',
            acceptAllBtn: 'Accept all',
            acceptNecessaryBtn: 'Reject all',
            showPreferencesBtn: 'Manage preferences'
          },
          preferencesModal: {
            title: 'Privacy settings',
            acceptAllBtn: 'Accept all',
            acceptNecessaryBtn: 'Reject all',
            savePreferencesBtn: 'Save choices',
            closeIconLabel: 'Close',
            sections: [
              { title: 'Necessary', description: 'Your cart.', linkedCategory: 'necessary' },
              {
                title: 'Analytics',
                description: 'Page views, clicks and orders (analytics_storage).',
                linkedCategory: 'analytics'
              },
              {
                title: 'Marketing',
                description: 'The ad you came from: its click ID (ad_storage, ad_user_data, ad_personalization).',
                linkedCategory: 'marketing'
              }
            ]
          }
        }
      }
    }
  });

  var settings = document.getElementById('privacy-settings');
  if (settings) {
    settings.addEventListener('click', function (e) {
      e.preventDefault();
      CookieConsent.showPreferences();
    });
  }
})();
