import Foundation
import MeltWatchMQTT
import MeltWatchTestKit
import Testing

/// `broker.username` + `broker.password_file` against a mosquitto that refuses anonymous clients:
/// the right password monitors, a wrong one is refused by the broker, said in the log and /readyz.
@Suite("The daemon against a broker that requires a password", .serialized)
struct BrokerAuthTests {
    @Test("the right password connects and monitors; a wrong one is refused, logged, and /readyz says so")
    func password() async throws {
        let dir = try temporaryDirectory(prefix: "auth")
        let passwd = dir.path + "/mosquitto.passwd"
        for (user, password) in [("meltwatch", "right-password"), ("baotou-steel", "gateway-password")] {
            let p = try SpawnedProcess(executable: try findExecutable("mosquitto_passwd", extra: ["/usr/bin/mosquitto_passwd"]).path,
                                       arguments: (FileManager.default.fileExists(atPath: passwd) ? ["-b"] : ["-c", "-b"]) + [passwd, user, password],
                                       output: dir.path + "/passwd.log")
            #expect(p.waitForExit(timeoutSeconds: 10) == 0)
        }
        chmod(dir.path, 0o755)
        chmod(passwd, 0o644)  // mosquitto started as root reads it as its own user
        let broker = try MosquittoBroker(extraConfig: "allow_anonymous false\npassword_file \(passwd)")
        defer { broker.stop() }

        for (password, shouldConnect) in [("right-password", true), ("wrong-password", false)] {
            let h = try await Harness(plants: Harness.coPlant)
            defer { h.stop() }
            try "\(password)\n".write(toFile: h.directory.path + "/mqtt.password", atomically: true, encoding: .utf8)
            let text = try String(contentsOfFile: h.configPath, encoding: .utf8)
            try text.replacingOccurrences(of: "url: \(h.broker.url)", with: """
                url: \(broker.url)
                  username: meltwatch
                  password_file: mqtt.password
                """).write(toFile: h.configPath, atomically: true, encoding: .utf8)
            h.daemon = try ProductProcess("meltwatch", arguments: ["run", "--config", h.configPath],
                                          logFile: h.directory.appendingPathComponent("daemon.log"))
            let ready = await waitForHTTP200(h.api + "/readyz", timeoutSeconds: shouldConnect ? 30 : 4)
            #expect(ready == shouldConnect, "\(h.daemon.output)")
            if shouldConnect {
                let gateway = try Publisher(address: BrokerAddress(host: "127.0.0.1", port: Int32(broker.port)), clientID: "auth-gateway",
                                            username: "baotou-steel", password: "gateway-password")
                defer { gateway.close() }
                try gateway.publish(topic: "plants/baotou-steel/co-1/co", text: "{\"ts\":\(nowMilliseconds()),\"v\":40}")
                let events = await h.receiver.waitFor { !$0.isEmpty }
                #expect(events.first?.json["rule"] as? String == "co-level-1")
            } else {
                #expect(h.daemon.output.contains("broker refused the connection"), "\(h.daemon.output)")
                #expect(h.daemon.isRunning, "a refused login is retried, not fatal: the broker may be fixed")
            }
        }
    }
}
