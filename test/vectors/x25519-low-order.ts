// Points of small order on Curve25519 and its twist (and non-canonical encodings of them): any
// scalar times one of them is the point at infinity, i.e. an all-zero u-coordinate (RFC 7748 §6.1).
// Every X25519 user must refuse them.
export const LOW_ORDER_POINTS_HEX = [
  '0000000000000000000000000000000000000000000000000000000000000000', // u = 0
  '0100000000000000000000000000000000000000000000000000000000000000', // u = 1
  'e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800', // order 8
  '5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157', // order 8
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f', // u = p − 1 (order 2)
  'edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f', // u = p ≡ 0
  'eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f', // u = p + 1 ≡ 1
];
