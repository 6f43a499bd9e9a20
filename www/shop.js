// The demo shop's own code (not the tag): a cart in localStorage and the
// calls a real shop makes to goaltag's public API.
(function () {
  var PRODUCTS = { coffee: ['Slow-roast coffee', 14], blanket: ['Wool blanket', 59], books: ['Paperback bundle', 22.5] };
  var cart = JSON.parse(localStorage.getItem('shop-cart') || '[]');
  function save() { localStorage.setItem('shop-cart', JSON.stringify(cart)); }
  function $(id) { return document.getElementById(id); }
  function total() { return cart.reduce(function (s, k) { return s + PRODUCTS[k][1]; }, 0); }
  $('cart-count').textContent = cart.length;
  var q = new URLSearchParams(location.search);
  if ($('add-to-cart')) {
    var sku = PRODUCTS[q.get('sku')] ? q.get('sku') : 'coffee';
    document.title = PRODUCTS[sku][0];
    $('product-name').textContent = PRODUCTS[sku][0];
    $('product-price').textContent = '$' + PRODUCTS[sku][1].toFixed(2);
    $('add-to-cart').onclick = function () {
      cart.push(sku); save();
      $('cart-count').textContent = cart.length; $('added').hidden = false;
      goaltag('event', 'add_to_cart', { category: 'shop', label: sku, value: PRODUCTS[sku][1], currency: 'USD' });
    };
  }
  if ($('place-order')) {
    cart.forEach(function (k) {
      var li = document.createElement('li'); li.textContent = PRODUCTS[k][0] + ' — $' + PRODUCTS[k][1].toFixed(2); $('cart-lines').appendChild(li);
    });
    $('cart-total').textContent = total().toFixed(2);
    $('place-order').onclick = function () {
      var order = 'T-' + Math.random().toString(36).slice(2, 10).toUpperCase();
      var sum = total().toFixed(2);
      cart = []; save();
      location.href = '/checkout/confirmation.html?order=' + order + '&total=' + sum;
    };
  }
  if ($('order-id')) {
    var order = q.get('order') || 'T-DEMO', sum = q.get('total') || '0';
    $('order-id').textContent = order; $('order-total').textContent = sum;
    goaltag('event', 'purchase', { category: 'shop', value: sum, currency: 'USD', transaction_id: order });
  }
})();
