//! X.509 certificates and OpenSSH keys accepted by the real tools: `openssl` (Debian package
//! `openssl`) and `ssh-keygen` (Debian package `openssh-client`). A missing tool fails these
//! tests with a message naming the package; they never skip.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use cim_keys::crypto::ssh::{self, OpenSshPublicKey};
use cim_keys::crypto::x509::{
    CaRequest, Certificate, CertificateKey, IntermediateCa, LeafKind, LeafRequest, RootCa, SerialNumber, Subject,
    SubjectAltName, Validity,
};
use sha2::{Digest, Sha256};
use tempfile::TempDir;

// ---------------------------------------------------------------------------------------------
// Running the tools

fn run(program: &str, package: &str, dir: &Path, args: &[&str]) -> Output {
    Command::new(program).args(args).current_dir(dir).stdin(Stdio::null()).output().unwrap_or_else(|e| {
        panic!("cannot run `{program}` ({e}): these tests need the real tool; install the Debian package `{package}`")
    })
}

fn openssl(dir: &Path, args: &[&str]) -> Output {
    run("openssl", "openssl", dir, args)
}

fn ssh_keygen(dir: &Path, args: &[&str]) -> Output {
    run("ssh-keygen", "openssh-client", dir, args)
}

fn text(output: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr))
}

/// The stdout of a run that must succeed.
#[track_caller]
fn ok_bytes(output: Output) -> Vec<u8> {
    assert!(output.status.success(), "the tool failed: {}", text(&output));
    output.stdout
}

/// The stdout, as text, of a run that must succeed.
#[track_caller]
fn ok(output: Output) -> String {
    String::from_utf8(ok_bytes(output)).unwrap()
}

/// The value after `prefix` on the one line of stdout, as `openssl x509 -noout -serial` prints.
#[track_caller]
fn field(output: Output, prefix: &str) -> String {
    let out = ok(output);
    out.trim_end().strip_prefix(prefix).unwrap_or_else(|| panic!("expected {prefix}…, got {out}")).to_owned()
}

// ---------------------------------------------------------------------------------------------
// A hierarchy in a temp dir

/// A deterministic, test-specific 32-byte value.
fn bytes32(label: &str) -> [u8; 32] {
    Sha256::digest(label.as_bytes()).into()
}

fn serial(label: &str) -> SerialNumber {
    let mut bytes = [0u8; 20];
    bytes.copy_from_slice(&bytes32(label)[..20]);
    SerialNumber::from_random(bytes)
}

fn acme(common_name: &str) -> Subject {
    Subject::new(common_name).unwrap().with_organization("Acme").unwrap().with_country("DE").unwrap()
}

/// A root and an intermediate CA written to `root.pem` and `intermediate.pem`. Hierarchies of
/// different tags have different keys but the same names.
struct Pki {
    tag: String,
    dir: TempDir,
    now: DateTime<Utc>,
    root: RootCa,
    intermediate_cert: Certificate,
    intermediate: IntermediateCa,
}

impl Pki {
    fn new(tag: &str) -> Self {
        let now = Utc::now();
        let root = RootCa::create(
            CertificateKey::from_seed(&bytes32(&format!("{tag}/root"))),
            &CaRequest {
                subject: acme("Acme Root CA"),
                serial: serial(&format!("{tag}/root/serial")),
                validity: Validity::new(now - Duration::days(1), now + Duration::days(20 * 365)).unwrap(),
            },
            1,
        )
        .unwrap();
        let key = CertificateKey::from_seed(&bytes32(&format!("{tag}/intermediate")));
        let request = CaRequest {
            subject: acme("Acme Intermediate CA"),
            serial: serial(&format!("{tag}/intermediate/serial")),
            validity: Validity::new(now - Duration::hours(1), now + Duration::days(5 * 365)).unwrap(),
        };
        let intermediate_cert = root.issue_intermediate(&key.public_key(), &request).unwrap();
        let intermediate = IntermediateCa::from_certificate(key, &intermediate_cert).unwrap();
        let pki =
            Self { tag: tag.to_owned(), dir: TempDir::new().unwrap(), now, root, intermediate_cert, intermediate };
        pki.write("root.pem", pki.root.certificate().pem());
        pki.write("intermediate.pem", pki.intermediate_cert.pem());
        pki
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn write(&self, name: &str, contents: &str) -> PathBuf {
        let path = self.path().join(name);
        std::fs::write(&path, contents).unwrap();
        path
    }

    /// Issues a leaf named `name` and writes `{name}.pem` and `{name}.key`.
    fn leaf(&self, name: &str, kind: LeafKind, subject: Subject, names: &[&str]) -> (Certificate, CertificateKey) {
        let key = CertificateKey::from_seed(&bytes32(&format!("{}/{name}", self.tag)));
        let request = LeafRequest {
            kind,
            subject,
            subject_alt_names: names.iter().map(|n| n.parse::<SubjectAltName>().unwrap()).collect(),
            serial: serial(&format!("{}/{name}/serial", self.tag)),
            validity: Validity::new(self.now - Duration::minutes(5), self.now + Duration::days(30)).unwrap(),
        };
        let cert = self.intermediate.issue_leaf(&key.public_key(), &request).unwrap();
        self.write(&format!("{name}.pem"), cert.pem());
        self.write(&format!("{name}.key"), &key.expose_secret_pkcs8_pem());
        (cert, key)
    }

    fn server(&self) -> (Certificate, CertificateKey) {
        self.leaf(
            "server",
            LeafKind::Server,
            acme("nats.example.org"),
            &["DNS:nats.example.org", "DNS:*.nats.example.org", "IP:10.0.0.1", "IP:fd00::1"],
        )
    }

    fn client(&self) -> (Certificate, CertificateKey) {
        self.leaf(
            "client",
            LeafKind::Client,
            acme("Alice Example"),
            &["email:alice@example.org", "URI:spiffe://example.org/alice", "DNS:alice.example.org"],
        )
    }

    /// `openssl verify -x509_strict -CAfile root.pem -untrusted intermediate.pem {leaf}.pem`
    /// with extra options.
    fn verify(&self, leaf: &str, extra: &[&str]) -> Output {
        let leaf = format!("{leaf}.pem");
        let mut args = vec!["verify", "-x509_strict", "-CAfile", "root.pem", "-untrusted", "intermediate.pem"];
        args.extend_from_slice(extra);
        args.push(&leaf);
        openssl(self.path(), &args)
    }
}

#[track_caller]
fn assert_verified(output: Output, leaf: &str) {
    assert_eq!(ok(output), format!("{leaf}.pem: OK\n"));
}

#[track_caller]
fn assert_refused(output: Output, reason: &str) {
    let all = text(&output);
    assert!(!output.status.success(), "openssl accepted what it should refuse: {all}");
    assert!(all.contains(reason), "expected '{reason}' in: {all}");
}

// ---------------------------------------------------------------------------------------------
// openssl verify

#[test]
fn openssl_verifies_server_and_client_certificates() {
    let pki = Pki::new("verify");
    pki.server();
    pki.client();
    assert_verified(pki.verify("server", &[]), "server");
    assert_verified(pki.verify("client", &[]), "client");
    assert_verified(pki.verify("server", &["-purpose", "sslserver"]), "server");
    assert_verified(pki.verify("client", &["-purpose", "sslclient"]), "client");
    assert_verified(pki.verify("server", &["-verify_hostname", "nats.example.org"]), "server");
    assert_verified(pki.verify("server", &["-verify_hostname", "leaf1.nats.example.org"]), "server");
    assert_verified(pki.verify("server", &["-verify_ip", "10.0.0.1"]), "server");
    assert_verified(pki.verify("server", &["-verify_ip", "fd00::1"]), "server");
    assert_verified(pki.verify("client", &["-verify_email", "alice@example.org"]), "client");
    // The intermediate itself chains to the root.
    let out = openssl(pki.path(), &["verify", "-x509_strict", "-CAfile", "root.pem", "intermediate.pem"]);
    assert_eq!(ok(out), "intermediate.pem: OK\n");
}

#[test]
fn openssl_refuses_the_wrong_purpose_or_name() {
    let pki = Pki::new("purpose");
    pki.server();
    pki.client();
    assert_refused(pki.verify("server", &["-purpose", "sslclient"]), "unsuitable certificate purpose");
    assert_refused(pki.verify("client", &["-purpose", "sslserver"]), "unsuitable certificate purpose");
    assert_refused(pki.verify("server", &["-verify_hostname", "other.example.org"]), "hostname mismatch");
    assert_refused(pki.verify("server", &["-verify_hostname", "a.b.nats.example.org"]), "hostname mismatch");
    assert_refused(pki.verify("server", &["-verify_ip", "10.0.0.2"]), "IP address mismatch");
    assert_refused(pki.verify("client", &["-verify_email", "bob@example.org"]), "email address mismatch");
}

#[test]
fn openssl_refuses_a_leaf_of_another_hierarchy() {
    let ours = Pki::new("ours");
    let theirs = Pki::new("theirs");
    theirs.server();
    // Same names, other keys: an impostor hierarchy.
    assert_eq!(ours.root.certificate().subject(), theirs.root.certificate().subject());
    std::fs::copy(theirs.path().join("server.pem"), ours.path().join("impostor.pem")).unwrap();
    std::fs::copy(theirs.path().join("intermediate.pem"), ours.path().join("their-intermediate.pem")).unwrap();

    assert_verified(theirs.verify("server", &[]), "server");
    // openssl finds no issuer: the names match, but the key identifiers and signatures do not.
    assert_refused(ours.verify("impostor", &[]), "unable to get local issuer certificate");
    let out = openssl(
        ours.path(),
        &["verify", "-CAfile", "root.pem", "-untrusted", "their-intermediate.pem", "impostor.pem"],
    );
    assert_refused(out, "unable to get local issuer certificate");
    let out = openssl(ours.path(), &["verify", "-CAfile", "root.pem", "their-intermediate.pem"]);
    assert_refused(out, "unable to get local issuer certificate");
    // Without the intermediate there is no path at all.
    ours.server();
    let out = openssl(ours.path(), &["verify", "-CAfile", "root.pem", "server.pem"]);
    assert_refused(out, "unable to get local issuer certificate");
}

/// PEM of DER, for handing altered certificates to openssl.
fn pem(der: &[u8]) -> String {
    let b64 = data_encoding::BASE64.encode(der);
    let lines: Vec<&str> = b64.as_bytes().chunks(64).map(|c| std::str::from_utf8(c).unwrap()).collect();
    format!("-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n", lines.join("\n"))
}

#[test]
fn openssl_refuses_a_certificate_with_one_altered_byte() {
    let pki = Pki::new("tampered");
    let (server, _) = pki.server();
    assert_eq!(pem(server.der()), server.pem(), "the test's PEM encoder agrees with ours");
    let der = server.der();
    // One byte of the signature, and one byte of the signed body (in the common name).
    let mut bad_signature = der.to_vec();
    *bad_signature.last_mut().unwrap() ^= 0x01;
    pki.write("bad-signature.pem", &pem(&bad_signature));
    assert_refused(pki.verify("bad-signature", &[]), "certificate signature failure");
    let at = der.windows(4).position(|w| w == b"nats").unwrap();
    let mut bad_body = der.to_vec();
    bad_body[at] = b'm';
    pki.write("bad-body.pem", &pem(&bad_body));
    assert_refused(pki.verify("bad-body", &[]), "certificate signature failure");
}

/// The hierarchy whose fingerprints the unit tests pin (`src/crypto/x509/tests.rs`) is one
/// openssl accepts, so the golden values are of valid certificates.
#[test]
fn the_pinned_hierarchy_is_one_openssl_accepts() {
    use chrono::TimeZone;
    let at = |year| Utc.with_ymd_and_hms(year, 1, 1, 0, 0, 0).unwrap();
    let request = |cn: &str, serial: u8, from, to| CaRequest {
        subject: acme(cn),
        serial: SerialNumber::from_bytes(&[serial]).unwrap(),
        validity: Validity::new(at(from), at(to)).unwrap(),
    };
    let root = RootCa::create(CertificateKey::from_seed(&[1; 32]), &request("Root", 1, 2024, 2044), 1).unwrap();
    let inter = root
        .issue_intermediate(&CertificateKey::from_seed(&[2; 32]).public_key(), &request("Intermediate", 2, 2024, 2030))
        .unwrap();
    assert_eq!(
        root.certificate().fingerprint().to_string(),
        "AD:DF:23:76:86:82:6B:85:9F:41:9F:99:28:C0:04:26:B9:C5:A3:4E:D5:6E:6C:A1:91:4D:21:5B:03:2E:58:AD"
    );
    assert_eq!(
        inter.fingerprint().to_string(),
        "F4:24:C6:F1:96:1F:32:CB:0D:E8:6F:DE:AB:A6:D5:28:F4:74:11:76:80:7F:E6:9C:3D:B9:EB:82:26:F7:69:C9"
    );
    let dir = TempDir::new().unwrap();
    std::fs::write(dir.path().join("root.pem"), root.certificate().pem()).unwrap();
    std::fs::write(dir.path().join("inter.pem"), inter.pem()).unwrap();
    let attime = at(2025).timestamp().to_string();
    let out = openssl(dir.path(), &["verify", "-x509_strict", "-attime", &attime, "-CAfile", "root.pem", "inter.pem"]);
    assert_eq!(ok(out), "inter.pem: OK\n");
}

#[test]
fn openssl_enforces_the_validity_period() {
    let pki = Pki::new("validity");
    let (server, _) = pki.server();
    let before = (server.validity().not_before() - Duration::seconds(1)).timestamp().to_string();
    let first = server.validity().not_before().timestamp().to_string();
    // OpenSSL treats the notAfter second itself as expired (RFC 5280 says inclusive).
    let last = (server.validity().not_after() - Duration::seconds(1)).timestamp().to_string();
    let after = (server.validity().not_after() + Duration::seconds(1)).timestamp().to_string();
    assert_refused(pki.verify("server", &["-attime", &before]), "certificate is not yet valid");
    assert_verified(pki.verify("server", &["-attime", &first]), "server");
    assert_verified(pki.verify("server", &["-attime", &last]), "server");
    assert_refused(pki.verify("server", &["-attime", &after]), "certificate has expired");
}

// ---------------------------------------------------------------------------------------------
// openssl x509: what the certificates say

fn x509_text(pki: &Pki, file: &str) -> String {
    let text = ok(openssl(pki.path(), &["x509", "-in", file, "-text", "-noout"]));
    // Join each extension's lines so one `contains` checks header and value together.
    text.lines().map(str::trim).collect::<Vec<_>>().join("\n")
}

#[test]
fn openssl_shows_the_constraints_usages_and_names_asked_for() {
    let pki = Pki::new("text");
    let (server, _) = pki.server();
    let (client, _) = pki.client();
    let root = pki.root.certificate();
    let inter = &pki.intermediate_cert;

    let text = x509_text(&pki, "root.pem");
    assert!(text.contains("Signature Algorithm: ED25519"), "{text}");
    assert!(text.contains("Public Key Algorithm: ED25519"), "{text}");
    assert!(text.contains("X509v3 Basic Constraints: critical\nCA:TRUE, pathlen:1"), "{text}");
    assert!(text.contains("X509v3 Key Usage: critical\nCertificate Sign, CRL Sign"), "{text}");
    assert!(text.contains(&format!("X509v3 Subject Key Identifier:\n{}", root.subject_key_id())), "{text}");
    assert!(!text.contains("Authority Key Identifier"), "{text}");
    assert!(!text.contains("Extended Key Usage"), "{text}");

    let text = x509_text(&pki, "intermediate.pem");
    assert!(text.contains("X509v3 Basic Constraints: critical\nCA:TRUE, pathlen:0"), "{text}");
    assert!(text.contains("X509v3 Key Usage: critical\nCertificate Sign, CRL Sign"), "{text}");
    assert!(text.contains(&format!("X509v3 Subject Key Identifier:\n{}", inter.subject_key_id())), "{text}");
    assert!(text.contains(&format!("X509v3 Authority Key Identifier:\n{}", root.subject_key_id())), "{text}");

    let text = x509_text(&pki, "server.pem");
    assert!(text.contains("X509v3 Basic Constraints: critical\nCA:FALSE"), "{text}");
    assert!(text.contains("X509v3 Key Usage: critical\nDigital Signature\n"), "{text}");
    assert!(text.contains("X509v3 Extended Key Usage:\nTLS Web Server Authentication\n"), "{text}");
    assert!(
        text.contains(
            "X509v3 Subject Alternative Name:\nDNS:nats.example.org, DNS:*.nats.example.org, \
             IP Address:10.0.0.1, IP Address:FD00:0:0:0:0:0:0:1\n"
        ),
        "{text}"
    );
    assert!(text.contains(&format!("X509v3 Subject Key Identifier:\n{}", server.subject_key_id())), "{text}");
    assert!(text.contains(&format!("X509v3 Authority Key Identifier:\n{}", inter.subject_key_id())), "{text}");

    let text = x509_text(&pki, "client.pem");
    assert!(text.contains("X509v3 Basic Constraints: critical\nCA:FALSE"), "{text}");
    assert!(text.contains("X509v3 Key Usage: critical\nDigital Signature\n"), "{text}");
    assert!(text.contains("X509v3 Extended Key Usage:\nTLS Web Client Authentication\n"), "{text}");
    assert!(
        text.contains(
            "X509v3 Subject Alternative Name:\nemail:alice@example.org, URI:spiffe://example.org/alice, \
             DNS:alice.example.org\n"
        ),
        "{text}"
    );
    assert!(text.contains(&format!("X509v3 Authority Key Identifier:\n{}", client.authority_key_id().unwrap())));
}

#[test]
fn our_fingerprint_serial_names_and_dates_are_what_openssl_reads() {
    let pki = Pki::new("facts");
    let (server, _) = pki.server();
    let (client, _) = pki.client();
    let special = Subject::new("Jürgen Müller")
        .unwrap()
        .with_organization("Acme, Inc.")
        .unwrap()
        .with_organizational_unit("R+D <Labs>")
        .unwrap();
    let (odd, _) = pki.leaf("odd", LeafKind::Client, special, &[]);
    let root = pki.root.certificate().clone();
    let inter = pki.intermediate_cert.clone();

    for (file, cert) in [
        ("root.pem", &root),
        ("intermediate.pem", &inter),
        ("server.pem", &server),
        ("client.pem", &client),
        ("odd.pem", &odd),
    ] {
        let x509 = |args: &[&str]| {
            let mut all = vec!["x509", "-in", file, "-noout"];
            all.extend_from_slice(args);
            openssl(pki.path(), &all)
        };
        assert_eq!(field(x509(&["-fingerprint", "-sha256"]), "sha256 Fingerprint="), cert.fingerprint().to_string());
        assert_eq!(field(x509(&["-serial"]), "serial="), cert.serial().to_string());
        let names = ["-nameopt", "RFC2253,-esc_msb"];
        assert_eq!(field(x509(&["-subject", names[0], names[1]]), "subject="), cert.subject().to_string());
        assert_eq!(field(x509(&["-issuer", names[0], names[1]]), "issuer="), cert.issuer().to_string());
        let date = |s: String| NaiveDateTime::parse_from_str(&s, "%b %e %H:%M:%S %Y GMT").unwrap().and_utc();
        assert_eq!(date(field(x509(&["-startdate"]), "notBefore=")), cert.validity().not_before());
        assert_eq!(date(field(x509(&["-enddate"]), "notAfter=")), cert.validity().not_after());
        assert_eq!(ok(x509(&["-pubkey"])), cert.public_key().to_pem());
        // The fingerprint is the SHA-256 of the DER that openssl reads from our PEM.
        assert_eq!(ok_bytes(openssl(pki.path(), &["x509", "-in", file, "-outform", "DER"])), cert.der());
    }
    assert_eq!(odd.subject().to_string(), r"CN=Jürgen Müller,OU=R\+D \<Labs\>,O=Acme\, Inc.");
}

#[test]
fn exported_private_keys_are_read_by_openssl_and_match_their_certificates() {
    let pki = Pki::new("keys");
    let (server, key) = pki.server();
    let public = ok(openssl(pki.path(), &["pkey", "-in", "server.key", "-pubout"]));
    assert_eq!(public, server.public_key().to_pem());
    assert_eq!(public, ok(openssl(pki.path(), &["x509", "-in", "server.pem", "-noout", "-pubkey"])));
    // openssl writes the key back byte for byte as we wrote it (PKCS#8 v1, RFC 8410).
    assert_eq!(ok(openssl(pki.path(), &["pkey", "-in", "server.key"])), key.expose_secret_pkcs8_pem().as_str());
    // A key openssl generates is read by us.
    let _ = ok(openssl(pki.path(), &["genpkey", "-algorithm", "ed25519", "-out", "theirs.key"]));
    let theirs = std::fs::read_to_string(pki.path().join("theirs.key")).unwrap();
    let ours = CertificateKey::from_pkcs8_pem(&theirs).unwrap();
    assert_eq!(ours.public_key().to_pem(), ok(openssl(pki.path(), &["pkey", "-in", "theirs.key", "-pubout"])));
}

// ---------------------------------------------------------------------------------------------
// A real mutual-TLS handshake

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// `openssl s_server` requiring a client certificate from our root, stopped on drop.
struct TlsServer {
    child: Child,
    output: mpsc::Receiver<String>,
    port: u16,
}

impl TlsServer {
    fn start(pki: &Pki) -> Self {
        for _ in 0..5 {
            let port = free_port();
            let accept = format!("127.0.0.1:{port}");
            let mut child = Command::new("timeout")
                .args(["60", "openssl", "s_server", "-accept", &accept, "-naccept", "1"])
                .args(["-cert", "server.pem", "-key", "server.key", "-cert_chain", "intermediate.pem"])
                .args(["-CAfile", "root.pem", "-Verify", "2", "-verify_return_error"])
                .current_dir(pki.path())
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("cannot run `timeout openssl s_server`: install the Debian packages `coreutils` and `openssl`");
            let (tx, rx) = mpsc::channel();
            for stream in [
                Box::new(child.stdout.take().unwrap()) as Box<dyn std::io::Read + Send>,
                Box::new(child.stderr.take().unwrap()),
            ] {
                let tx = tx.clone();
                std::thread::spawn(move || {
                    for line in BufReader::new(stream).lines().map_while(Result::ok) {
                        let _ = tx.send(line);
                    }
                });
            }
            let mut early = Vec::new();
            while let Ok(line) = rx.recv_timeout(StdDuration::from_secs(20)) {
                if line == "ACCEPT" {
                    return Self { child, output: rx, port };
                }
                early.push(line);
            }
            let _ = child.kill();
            let _ = child.wait();
            assert!(early.iter().any(|l| l.contains("ddress already in use")), "s_server did not start: {early:?}");
        }
        panic!("no free port for s_server");
    }

    /// Everything the server printed until it exited (it serves one connection).
    fn finish(mut self) -> String {
        let _ = self.child.wait();
        let mut lines = Vec::new();
        while let Ok(line) = self.output.recv_timeout(StdDuration::from_secs(5)) {
            lines.push(line);
        }
        lines.join("\n")
    }
}

impl Drop for TlsServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn tls_client(pki: &Pki, port: u16, client: &str) -> Output {
    let connect = format!("127.0.0.1:{port}");
    let cert = format!("{client}.pem");
    let key = format!("{client}.key");
    Command::new("timeout")
        .args(["30", "openssl", "s_client", "-connect", &connect, "-servername", "nats.example.org"])
        .args(["-verify_hostname", "nats.example.org", "-CAfile", "root.pem", "-verify_return_error", "-brief"])
        .args(["-cert", &cert, "-key", &key, "-cert_chain", "intermediate.pem"])
        .current_dir(pki.path())
        .stdin(Stdio::null())
        .output()
        .expect("cannot run `timeout openssl s_client`: install the Debian packages `coreutils` and `openssl`")
}

#[test]
fn a_mutual_tls_handshake_succeeds_with_our_certificates_and_keys() {
    let pki = Pki::new("tls");
    pki.server();
    pki.client();
    let server = TlsServer::start(&pki);
    let client = tls_client(&pki, server.port, "client");
    let client_text = text(&client);
    let server_text = server.finish();
    assert!(client.status.success(), "client: {client_text}\nserver: {server_text}");
    assert!(client_text.contains("Verification: OK"), "{client_text}");
    assert!(client_text.contains("Verified peername: nats.example.org"), "{client_text}");
    assert!(client_text.contains("Signature type: ed25519"), "{client_text}");
    assert!(
        server_text.contains("depth=0 C = DE, O = Acme, CN = Alice Example\nverify return:1"),
        "the server verified the client certificate: {server_text}"
    );
}

#[test]
fn a_client_certificate_of_another_hierarchy_is_refused_in_the_handshake() {
    let pki = Pki::new("tls-ours");
    pki.server();
    let theirs = Pki::new("tls-theirs");
    theirs.client();
    for file in ["client.pem", "client.key"] {
        std::fs::copy(theirs.path().join(file), pki.path().join(format!("impostor-{file}"))).unwrap();
    }
    // The impostor presents its own intermediate, as a real one would.
    std::fs::copy(theirs.path().join("intermediate.pem"), pki.path().join("their-intermediate.pem")).unwrap();
    let server = TlsServer::start(&pki);
    let connect = format!("127.0.0.1:{}", server.port);
    let client = Command::new("timeout")
        .args(["30", "openssl", "s_client", "-connect", &connect, "-CAfile", "root.pem", "-brief"])
        .args(["-cert", "impostor-client.pem", "-key", "impostor-client.key", "-cert_chain", "their-intermediate.pem"])
        .current_dir(pki.path())
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let server_text = server.finish();
    let client_text = text(&client);
    assert!(
        server_text.contains("verify error:num=20:unable to get local issuer certificate")
            && server_text.contains("certificate verify failed"),
        "the server must refuse the impostor: {server_text}\nclient: {client_text}"
    );
    // The client may or may not read the server's alert before it closes (in TLS 1.3 the
    // server checks the client's certificate after the client's side of the handshake is done),
    // so only the server's verdict is asserted.
}

// ---------------------------------------------------------------------------------------------
// ssh-keygen

#[test]
fn ssh_keygen_prints_exactly_our_fingerprint() {
    let dir = TempDir::new().unwrap();
    let comments = ["", "alice@example.org", "laptop key 2025", "Jürgen's key"];
    for i in 0..12 {
        let key = CertificateKey::from_seed(&bytes32(&format!("ssh/{i}"))).public_key();
        let comment = comments[i % comments.len()];
        let line = ssh::public_key_line(key.as_bytes(), comment).unwrap();
        let path = dir.path().join(format!("id_{i}.pub"));
        std::fs::write(&path, format!("{line}\n")).unwrap();
        let shown = if comment.is_empty() { "no comment" } else { comment };
        let expected = format!("256 {} {shown} (ED25519)\n", ssh::fingerprint(key.as_bytes()));
        let path = path.to_str().unwrap();
        assert_eq!(ok(ssh_keygen(dir.path(), &["-l", "-f", path])), expected, "key {i}");
        assert_eq!(ok(ssh_keygen(dir.path(), &["-l", "-E", "sha256", "-f", path])), expected, "key {i}");
    }
}

#[test]
fn we_read_keys_that_ssh_keygen_generates() {
    let dir = TempDir::new().unwrap();
    for i in 0..3 {
        let name = format!("generated_{i}");
        let comment = format!("user{i}@host");
        let _ = ok(ssh_keygen(dir.path(), &["-q", "-t", "ed25519", "-N", "", "-C", &comment, "-f", &name]));
        let pub_path = format!("{name}.pub");
        let line = std::fs::read_to_string(dir.path().join(&pub_path)).unwrap();
        let parsed: OpenSshPublicKey = line.parse().unwrap();
        assert_eq!(parsed.comment(), comment);
        assert_eq!(format!("{parsed}\n"), line, "we write the line back exactly");
        let listed = ok(ssh_keygen(dir.path(), &["-l", "-f", &pub_path]));
        assert_eq!(listed, format!("256 {} {comment} (ED25519)\n", parsed.fingerprint()));
    }
}
