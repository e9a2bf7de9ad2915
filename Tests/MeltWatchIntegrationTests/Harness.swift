import Foundation
import MeltWatchMQTT
import MeltWatchTestKit
import Testing

/// A running MeltWatch: real mosquitto, the real `meltwatch` binary, a real HTTP receiver.
final class Harness: @unchecked Sendable {
    // @unchecked: everything is set up in `init` / `startDaemon` before the test reads it, from one task.
    let broker: MosquittoBroker
    let receiver: WebhookReceiver
    let directory: URL
    let configPath: String
    let secret = "e2e-secret-\(UUID().uuidString)"
    let dutyPort: Int
    var daemon: ProductProcess!

    /// The plants the hand-written end-to-end tests use: one BOF lance element (inlet flow on an
    /// overridden topic) and one CO detector.
    static let defaultPlants = """
    plants:
      - id: baotou-steel
        name: 包头钢铁 一炼钢
        equipment:
          - id: bof1-lance
            template: steel.water-cooled-element
            params: { furnace_type: bof, flow_difference_max: 3.0, on_delay_s: 2, interlock_warn_s: 2, interlock_deadline_s: 5 }
            signals:
              inlet_flow: { topic: site/bof1/lance/FT101 }
          - id: co-1
            template: steel.co-detector
            params: { preset: gb6222 }

    """

    /// One CO detector and nothing else: no other equipment whose silent signals would go stale
    /// during a test that counts events.
    static let coPlant = """
    plants:
      - id: baotou-steel
        name: 包头钢铁 一炼钢
        equipment:
          - id: co-1
            template: steel.co-detector
            params: { preset: gb6222 }

    """

    /// Starts a broker and a receiver and writes a config with `plants` (a YAML `plants:` section)
    /// and `duty` (more keys of the `duty:` section, two-space indented). The default keeps heartbeats
    /// out of tests that count alarm events.
    init(plants: String = Harness.defaultPlants, duty: String = "  heartbeat_s: 3600\n", failFirst: Int = 0) async throws {
        broker = try MosquittoBroker()
        receiver = try await WebhookReceiver(failFirst: failFirst)
        directory = try temporaryDirectory(prefix: "e2e")
        dutyPort = try freeLoopbackPort()
        try secret.write(toFile: directory.path + "/duty.secret", atomically: true, encoding: .utf8)
        configPath = directory.path + "/meltwatch.yaml"
        try """
        broker:
          url: \(broker.url)
          client_id: meltwatch-e2e-\(UUID().uuidString.prefix(8))
          qos: 1
        journal:
          dir: journal
        duty:
          listen: 127.0.0.1:\(dutyPort)
          webhooks:
            - url: \(receiver.url)
              secret_file: duty.secret

        """.appending(duty).appending(plants).write(toFile: configPath, atomically: true, encoding: .utf8)
    }

    /// Starts `meltwatch run` (under `wrapper`, if given) and waits until `/readyz` says it is
    /// connected and subscribed.
    func startDaemon(wrapper: [String] = []) async throws {
        daemon = try ProductProcess("meltwatch", arguments: ["run", "--config", configPath], logFile: directory.appendingPathComponent("daemon.log"),
                                    wrapper: wrapper)
        let ready = await waitForHTTP200("http://127.0.0.1:\(dutyPort)/readyz", timeoutSeconds: 30)
        if !ready { Issue.record("daemon not ready: \(daemon.output)") }
    }

    /// The duty API's base URL.
    var api: String { "http://127.0.0.1:\(dutyPort)" }

    /// A gateway connection to the test's broker.
    func publisher() throws -> Publisher {
        try Publisher(address: BrokerAddress(host: "127.0.0.1", port: Int32(broker.port)), clientID: "e2e-gateway-\(UUID().uuidString.prefix(6))")
    }

    /// Stops the daemon, the receiver and the broker.
    func stop() {
        daemon?.stop()
        receiver.stop()
        broker.stop()
    }
}

/// A file's text; "" when it is missing or empty. (Foundation's `String(contentsOfFile:)` leaks its
/// read buffer on an empty file — LeakSanitizer reports it — and replay outputs are often empty.)
func textFile(_ path: String) -> String {
    guard let size = (try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? Int, size > 0 else { return "" }
    return (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
}

func nowMilliseconds() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) }

func rfc3339(_ ms: Int64) -> String {
    let f = ISO8601DateFormatter()
    f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
    f.timeZone = TimeZone(identifier: "UTC")
    return f.string(from: Date(timeIntervalSince1970: Double(ms) / 1000)).replacingOccurrences(of: "+00:00", with: "Z")
}
