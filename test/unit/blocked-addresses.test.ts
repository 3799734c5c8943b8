import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { whyBlocked } from '../../src/webhooks/blocked-addresses.js';

describe('blocked addresses', () => {
  const blocked: [string, RegExp][] = [
    ['127.0.0.1', /loopback/],
    ['127.255.255.254', /loopback/],
    ['10.1.2.3', /RFC 1918/],
    ['172.16.0.1', /RFC 1918/],
    ['172.31.255.255', /RFC 1918/],
    ['192.168.1.1', /RFC 1918/],
    ['100.64.0.1', /carrier-grade NAT/],
    ['100.127.255.255', /carrier-grade NAT/],
    ['169.254.169.254', /link-local/],
    ['0.0.0.0', /this network/],
    ['0.1.2.3', /this network/],
    ['224.0.0.1', /multicast/],
    ['239.255.255.250', /multicast/],
    ['255.255.255.255', /broadcast/],
    ['240.0.0.1', /reserved/],
    ['192.0.0.8', /IETF/],
    ['192.0.2.1', /documentation/],
    ['198.51.100.7', /documentation/],
    ['203.0.113.9', /documentation/],
    ['198.18.0.1', /benchmarking/],
    ['192.88.99.1', /6to4 relay/],
    ['::1', /not global unicast/],
    ['::', /not global unicast/],
    ['fc00::1', /not global unicast/],
    ['fd12:3456::1', /not global unicast/],
    ['fe80::1', /not global unicast/],
    ['fe80::1%eth0', /not global unicast/],
    ['ff02::1', /not global unicast/],
    ['::ffff:127.0.0.1', /loopback/],
    ['::ffff:169.254.169.254', /link-local/],
    ['::ffff:7f00:1', /loopback/],
    ['64:ff9b::10.0.0.1', /RFC 1918/],
    ['64:ff9b::a9fe:a9fe', /link-local/],
    ['64:ff9b:1::1', /local-use NAT64/],
    ['2002:7f00:0001::1', /loopback/],
    ['2002:c0a8:0101::1', /RFC 1918/],
    ['2001::1', /Teredo/],
    ['2001:db8::1', /documentation/],
    ['100::1', /discard/],
    ['127.1', /loopback/],
    ['0x7f.1', /loopback/],
    ['2130706433', /loopback/],
    ['017700000001', /loopback/],
    ['[::1]', /not global unicast/],
    ['example.com', /not an IP address/],
  ];
  for (const [address, reason] of blocked) {
    it(`blocks ${address}`, () => assert.match(whyBlocked(address) ?? 'allowed', reason));
  }

  for (const address of ['93.184.216.34', '8.8.8.8', '20.1.2.3', '172.32.0.1', '100.128.0.1', '2606:4700:4700::1111', '::ffff:8.8.8.8', '64:ff9b::8.8.8.8', '2002:0808:0808::1']) {
    it(`allows public ${address}`, () => assert.equal(whyBlocked(address), undefined));
  }
});
