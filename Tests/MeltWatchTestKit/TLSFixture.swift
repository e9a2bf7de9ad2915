import Foundation

/// Certificates made for one test with the `openssl` command: a CA, a broker certificate for
/// 127.0.0.1 signed by it, a client certificate signed by it, and a second CA that signed nothing
/// the broker uses (the "wrong CA").
public struct TLSFixture: Sendable {
    public let directory: URL
    public var caFile: String { directory.path + "/ca.crt" }
    public var wrongCAFile: String { directory.path + "/wrong-ca.crt" }
    public var serverCertFile: String { directory.path + "/server.crt" }
    public var serverKeyFile: String { directory.path + "/server.key" }
    public var clientCertFile: String { directory.path + "/client.crt" }
    public var clientKeyFile: String { directory.path + "/client.key" }

    public init() throws {
        directory = try temporaryDirectory(prefix: "tls")
        let d = directory.path
        func openssl(_ args: [String]) throws {
            let p = Process()
            p.executableURL = try findExecutable("openssl", extra: ["/usr/bin/openssl"])
            p.arguments = args
            p.standardOutput = FileHandle.nullDevice
            let err = Pipe()
            p.standardError = err
            try p.run()
            p.waitUntilExit()
            guard p.terminationStatus == 0 else {
                let message = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
                throw TestKitError("openssl \(args.joined(separator: " ")) failed: \(message)")
            }
        }
        for ca in ["ca", "wrong-ca"] {
            try openssl(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=MeltWatch test \(ca)",
                         "-keyout", "\(d)/\(ca).key", "-out", "\(d)/\(ca).crt"])
        }
        try "subjectAltName=IP:127.0.0.1\n".write(toFile: "\(d)/server.ext", atomically: true, encoding: .utf8)
        for (name, ext) in [("server", ["-extfile", "\(d)/server.ext"]), ("client", [])] {
            try openssl(["req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=\(name == "server" ? "127.0.0.1" : "meltwatch")",
                         "-keyout", "\(d)/\(name).key", "-out", "\(d)/\(name).csr"])
            try openssl(["x509", "-req", "-in", "\(d)/\(name).csr", "-CA", "\(d)/ca.crt", "-CAkey", "\(d)/ca.key", "-CAcreateserial",
                         "-days", "2", "-out", "\(d)/\(name).crt"] + ext)
        }
        // mosquitto started as root drops to its own user before it reads these.
        chmod(d, 0o755)
        for f in try FileManager.default.contentsOfDirectory(atPath: d) { chmod("\(d)/\(f)", 0o644) }
    }

    /// A mosquitto listener on `port` that speaks only TLS and requires a client certificate from
    /// the test CA (for `MosquittoBroker(extraConfig:)`).
    public func listenerConfig(port: Int) -> String {
        """
        listener \(port) 127.0.0.1
        cafile \(caFile)
        certfile \(serverCertFile)
        keyfile \(serverKeyFile)
        require_certificate true
        tls_version tlsv1.2
        """
    }
}
