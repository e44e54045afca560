// Hallpass proxy auto-config (PAC) for district devices. See README.md beside this file.
//
// Edit the three settings below for your district, then serve this file as
// http://wpad.<your domain>/wpad.dat and/or point devices at its URL (deploy/clients/).
//
// Everything that is not the district's own is sent to Hallpass, and there is no
// "; DIRECT" fallback: if Hallpass cannot be reached, pages fail to load instead of
// loading unfiltered. A fallback would turn any proxy outage, or a student who can make
// the proxy unreachable from their device, into an unfiltered internet connection, which
// a district under CIPA may not offer. For availability, list a second Hallpass instance
// (or the HAProxy in front of several, deploy/haproxy/) instead:
//   var HALLPASS = "PROXY hallpass1.district.example:3128; PROXY hallpass2.district.example:3128";
//
// A PAC file is a convenience, not enforcement: a student can change the proxy setting
// of a device the district does not manage. Block direct web traffic from student
// networks at the firewall (or redirect it to Hallpass's transparent listener,
// deploy/gateway/) so that the proxy is the only way out.

// Where browsers send everything else (HTTP, and HTTPS as CONNECT).
var HALLPASS = "PROXY hallpass.district.example:3128";

// The district's own domains: reached DIRECT (intranet sites, the SIS, printers, the
// proxy itself). Each covers its subdomains. Keep it to domains the district controls:
// anything listed here is never filtered or audited.
var DISTRICT_DOMAINS = ["district.example", "district.internal"];

// Private networks reached DIRECT when a URL names an address literally.
var INTRANET_NETS = [
  ["10.0.0.0", "255.0.0.0"],
  ["172.16.0.0", "255.240.0.0"],
  ["192.168.0.0", "255.255.0.0"],
  ["127.0.0.0", "255.0.0.0"],
  ["169.254.0.0", "255.255.0.0"]
];

function FindProxyForURL(url, host) {
  host = host.toLowerCase();
  if (host.charAt(host.length - 1) === ".") {
    host = host.substring(0, host.length - 1);  // "intranet.district.example." is the same host
  }

  // Single-label names ("intranet", "printer") are local by definition.
  if (isPlainHostName(host) || host === "localhost") {
    return "DIRECT";
  }

  // The district's own domains, and only those: "evil-district.example" and
  // "district.example.evil.test" are not the district.
  for (var i = 0; i < DISTRICT_DOMAINS.length; i++) {
    var domain = DISTRICT_DOMAINS[i];
    if (host === domain || dnsDomainIs(host, "." + domain)) {
      return "DIRECT";
    }
  }

  // Address literals in private ranges. Only literals are tested: isInNet() on a name
  // would make the browser resolve every host it visits, slowly and before the proxy
  // could judge it. Public addresses go to Hallpass like names (which refuses CONNECT to
  // a bare address as an anonymizer).
  if (/^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host)) {
    for (var j = 0; j < INTRANET_NETS.length; j++) {
      if (isInNet(host, INTRANET_NETS[j][0], INTRANET_NETS[j][1])) {
        return "DIRECT";
      }
    }
  }
  if (host === "::1" || host === "[::1]") {
    return "DIRECT";
  }

  return HALLPASS;
}
