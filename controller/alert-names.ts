/**
 * The snoopers' alert names, a leaf module: controller/events.ts streams them as events and the API contract
 * (api/contract/edge.ts) counts them, and neither may import the other's values (no import cycle,
 * test/architecture.test.ts). No imports: the browser build takes it too.
 */

/** DHCP/ARP snooping alerts (edge/snooping.ts DropReason), streamed as `dhcp-<reason>`. */
export const DHCP_ALERTS = [
  'malformed',
  'spoofed-chaddr',
  'rate-limited',
  'rogue-server',
  'server-message-from-client',
  'client-message-from-server',
  'ack-unknown-client',
  'lease-refused',
  'arp-spoof',
  'arp-malformed',
  'mac-conflict',
  'release-elsewhere',
] as const;

/** IPv6 address-learning alerts (edge/nd-snooping.ts), streamed as `ipv6-<reason>`. */
export const IPV6_ALERTS = [
  'malformed',
  'rate-limited',
  'conflict',
  'too-many',
  'spoofed-lla',
  'na-for-other',
  'ns-from-other',
  'dad-conflict',
  'rogue-server',
  'client-message-from-server',
  'lease-refused',
  'release-elsewhere',
] as const;
