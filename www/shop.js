// The demo shop's own code, not the tag's: a cart in the shop's localStorage
// and the calls a real shop makes to goaltag's public API.
(function () {
  var PRODUCTS = {
    coffee: ['Slow-roast coffee', 14, 'Dark, round and low in acid: a 500 g bag for lazy mornings.'],
    blanket: ['Wool blanket', 59, 'Heavy Shetland wool, 130 × 180 cm, warm enough for the porch.'],
    books: ['Paperback bundle', 22.5, 'Three short novels, picked by us, one for each rainy day.']
  };
  var cart;
  try { cart = JSON.parse(localStorage.getItem('shop-cart')) || []; } catch (e) { cart = []; }
  cart = cart.filter(function (k) { return PRODUCTS[k]; });
  function save() { try { localStorage.setItem('shop-cart', JSON.stringify(cart)); } catch (e) {} }
  function $(id) { return document.getElementById(id); }
  function money(n) { return n.toFixed(2); }
  function total() { return cart.reduce(function (s, k) { return s + PRODUCTS[k][1]; }, 0); }
  function count() { $('cart-count').textContent = cart.length; }
  count();
  var q = new URLSearchParams(location.search);

  var form = $('newsletter');
  if (form) {
    // The tag sees the submit first (a capture listener); the shop stays on the page.
    form.addEventListener('submit', function (e) {
      e.preventDefault();
      $('newsletter-thanks').hidden = false;
    });
  }

  if ($('add-to-cart')) {
    var sku = PRODUCTS[q.get('sku')] ? q.get('sku') : 'coffee', p = PRODUCTS[sku];
    document.title = p[0] + ' — Weekend Goods';
    $('product-name').textContent = p[0];
    $('product-blurb').textContent = p[2];
    $('product-price').textContent = '$' + money(p[1]);
    $('product-swatch').className = 'swatch ' + sku;
    $('product-swatch').textContent = p[0].charAt(0);
    $('add-to-cart').setAttribute('data-goaltag-product', sku);
    $('add-to-cart').addEventListener('click', function () {
      cart.push(sku);
      save();
      count();
      $('added').hidden = false;
      goaltag('event', 'add_to_cart', { category: 'shop', label: sku, value: p[1], currency: 'USD' });
    });
  }

  if ($('place-order')) {
    cart.forEach(function (k) {
      var li = document.createElement('li');
      li.innerHTML = '<span></span><span></span>';
      li.firstChild.textContent = PRODUCTS[k][0];
      li.lastChild.textContent = '$' + money(PRODUCTS[k][1]);
      $('cart-lines').appendChild(li);
    });
    $('cart-total').textContent = money(total());
    $('cart-empty').hidden = cart.length > 0;
    $('place-order').disabled = cart.length === 0;
    $('place-order').addEventListener('click', function () {
      if (!cart.length) return;
      var order = 'T-' + Math.random().toString(36).slice(2, 10).toUpperCase();
      var sum = money(total());
      cart = [];
      save();
      location.href = '/checkout/confirmation.html?order=' + order + '&total=' + sum;
    });
  }

  if ($('order-id')) {
    // Runs again on every reload with the same order: the same transaction_id.
    var order = q.get('order'), sum = parseFloat(q.get('total'));
    if (order && isFinite(sum)) {
      $('order-id').textContent = order;
      $('order-total').textContent = money(sum);
      // Enhanced conversions: the buyer's email, hashed in the browser (only
      // while ad_user_data is granted), for the purchase recorded next.
      goaltag('user_data', { email: $('order-email').textContent });
      goaltag('event', 'purchase', { category: 'shop', value: sum, currency: 'USD', transaction_id: order });
    } else {
      $('order-id').textContent = '(none)';
      $('order-total').textContent = '0.00';
    }
  }
})();
