import Foundation
import MeltWatchMQTT
import MeltWatchTestKit
import Testing

/// `broker.url: mqtts://…` through the real daemon: readings arrive over TLS with a client
/// certificate, and the MQTT alarm topic is published over the same TLS settings.
@Suite("The daemon over mqtts://", .serialized)
struct TLSDaemonTests {
    @Test("readings over TLS raise the alarm; the alarm event goes out on the MQTT alarm topic over TLS too")
    func daemonOverTLS() async throws {
        let tls = try TLSFixture()
        let tlsPort = try freeLoopbackPort()
        let broker = try MosquittoBroker(extraConfig: tls.listenerConfig(port: tlsPort))
        defer { broker.stop() }
        #expect(waitForPort(tlsPort, timeoutSeconds: 10))
        let h = try await Harness(plants: Harness.coPlant, duty: "  heartbeat_s: 3600\n  mqtt_topic_prefix: meltwatch/alarms\n")
        defer { h.stop() }
        let text = try String(contentsOfFile: h.configPath, encoding: .utf8)
        try text.replacingOccurrences(of: "url: \(h.broker.url)", with: """
            url: mqtts://127.0.0.1:\(tlsPort)
              tls: { ca_file: \(tls.caFile), cert_file: \(tls.clientCertFile), key_file: \(tls.clientKeyFile) }
            """).write(toFile: h.configPath, atomically: true, encoding: .utf8)

        // The alarm topic, read over TLS by the stock client.
        let sub = try SpawnedProcess(executable: try findExecutable("mosquitto_sub").path, arguments: [
            "-h", "127.0.0.1", "-p", "\(tlsPort)", "--cafile", tls.caFile, "--cert", tls.clientCertFile, "--key", tls.clientKeyFile,
            "-t", "meltwatch/alarms/#", "-v", "-C", "1", "-W", "30",
        ], output: h.directory.path + "/alarm-topic.txt")
        try await h.startDaemon()

        let files = TLSFiles(caFile: tls.caFile, certFile: tls.clientCertFile, keyFile: tls.clientKeyFile)
        let p = try Publisher(address: BrokerAddress(host: "127.0.0.1", port: Int32(tlsPort), tls: true), clientID: "tls-gateway", tls: files)
        defer { p.close() }
        try p.publish(topic: "plants/baotou-steel/co-1/co", text: "{\"ts\":\(nowMilliseconds()),\"v\":40}")
        let events = await h.receiver.waitFor { !$0.isEmpty }
        #expect(events.first?.json["rule"] as? String == "co-level-1", "\(h.daemon.output)")
        #expect(sub.waitForExit(timeoutSeconds: 30) == 0)
        let topicLine = (try? String(contentsOfFile: h.directory.path + "/alarm-topic.txt", encoding: .utf8)) ?? ""
        #expect(topicLine.hasPrefix("meltwatch/alarms/baotou-steel/co-1 {"), "\(topicLine)")
        #expect(topicLine.contains("\"rule\":\"co-level-1\""))
    }
}
