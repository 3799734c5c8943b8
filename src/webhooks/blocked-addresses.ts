import ipaddr from 'ipaddr.js';

/**
 * Where a webhook may not send. IPv4: everything but public unicast. IPv6: only global unicast (2000::/3)
 * minus its special-purpose blocks; IPv4 embedded in IPv6 (mapped, NAT64, 6to4) is judged by the IPv4 inside.
 */
const BLOCKED_V4: readonly [string, string][] = [
  ['0.0.0.0/8', '"this network"'],
  ['10.0.0.0/8', 'private (RFC 1918)'],
  ['100.64.0.0/10', 'carrier-grade NAT (RFC 6598)'],
  ['127.0.0.0/8', 'loopback'],
  ['169.254.0.0/16', 'link-local (cloud metadata)'],
  ['172.16.0.0/12', 'private (RFC 1918)'],
  ['192.0.0.0/24', 'IETF protocol assignments'],
  ['192.0.2.0/24', 'documentation (TEST-NET-1)'],
  ['192.88.99.0/24', '6to4 relay anycast'],
  ['192.168.0.0/16', 'private (RFC 1918)'],
  ['198.18.0.0/15', 'benchmarking'],
  ['198.51.100.0/24', 'documentation (TEST-NET-2)'],
  ['203.0.113.0/24', 'documentation (TEST-NET-3)'],
  ['224.0.0.0/4', 'multicast'],
  ['240.0.0.0/4', 'reserved and broadcast'],
];

const BLOCKED_V6: readonly [string, string][] = [
  ['64:ff9b:1::/48', 'local-use NAT64'],
  ['100::/64', 'discard-only'],
  ['2001::/23', 'IETF protocol assignments (Teredo, benchmarking, ORCHID)'],
  ['2001:db8::/32', 'documentation'],
  ['3fff::/20', 'documentation'],
  ['5f00::/16', 'segment routing'],
];

const GLOBAL_UNICAST_V6 = ipaddr.parseCIDR('2000::/3');
const NAT64 = ipaddr.parseCIDR('64:ff9b::/96');
const SIX_TO_FOUR = ipaddr.parseCIDR('2002::/16');

const v4Ranges = BLOCKED_V4.map(([cidr, reason]) => ({ range: ipaddr.IPv4.parseCIDR(cidr), reason }));
const v6Ranges = BLOCKED_V6.map(([cidr, reason]) => ({ range: ipaddr.IPv6.parseCIDR(cidr), reason }));

const v4FromBytes = (bytes: number[]): ipaddr.IPv4 => new ipaddr.IPv4(bytes.slice(0, 4));

function whyBlockedV4(address: ipaddr.IPv4): string | undefined {
  return v4Ranges.find(({ range }) => address.match(range))?.reason;
}

function whyBlockedV6(address: ipaddr.IPv6): string | undefined {
  const bytes = address.toByteArray();
  if (address.isIPv4MappedAddress()) return whyBlockedV4(address.toIPv4Address());
  if (address.match(NAT64)) return whyBlockedV4(v4FromBytes(bytes.slice(12)));
  if (address.match(SIX_TO_FOUR)) return whyBlockedV4(v4FromBytes(bytes.slice(2)));
  const special = v6Ranges.find(({ range }) => address.match(range))?.reason;
  if (special !== undefined) return special;
  return address.match(GLOBAL_UNICAST_V6) ? undefined : `not global unicast (${address.range()})`;
}

/**
 * Why an address may not be a webhook target, or undefined for a public address. Accepts every IPv4 spelling
 * ipaddr.js knows (`127.1`, `0x7f.1`, `2130706433`) and IPv6 with a zone; anything unparsable is blocked.
 */
export function whyBlocked(address: string): string | undefined {
  const bare = address.replace(/^\[|\]$/g, '');
  if (!ipaddr.isValid(bare)) return 'not an IP address';
  const parsed = ipaddr.parse(bare);
  return parsed.kind() === 'ipv4' ? whyBlockedV4(parsed as ipaddr.IPv4) : whyBlockedV6(parsed as ipaddr.IPv6);
}

/** True for a string any IP parser here would read as an address rather than a host name. */
export const isIpLiteral = (host: string): boolean => ipaddr.isValid(host.replace(/^\[|\]$/g, ''));
