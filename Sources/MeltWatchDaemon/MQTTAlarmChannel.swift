import Foundation
import MeltWatchAlarms
import MeltWatchCore
import MeltWatchMQTT
import NIOConcurrencyHelpers

/// The optional MQTT alarm topic (`duty.mqtt_topic_prefix`): every event, the same bytes as the
/// webhooks get, published at QoS 1 to `<prefix>/<plant>/<equipment>` on the plant broker. An event
/// counts as delivered once the broker acknowledged it (PUBACK); otherwise it is retried like a
/// webhook, from the same durable cursor.
final class MQTTAlarmChannel: DeliveryChannel {
    let name = "mqtt#1"
    /// The broker and prefix (no credential in either): the cursor's identity since the first version.
    let cursorKey: String
    private let prefix: String
    private let address: BrokerAddress
    private let clientID: String
    private let username: String?
    private let password: String?
    private let tls: TLSFiles?
    private let publisher = NIOLockedValueBox<Publisher?>(nil)
    private let acknowledgementTimeout: Duration = .seconds(10)

    init(prefix: String, address: BrokerAddress, clientID: String, username: String?, password: String?, tls: TLSFiles?) {
        self.prefix = prefix
        self.address = address
        self.clientID = clientID
        self.username = username
        self.password = password
        self.tls = tls
        cursorKey = "\(address)/\(prefix)"
    }

    func deliver(_ envelope: AlarmEnvelope) async -> DeliveryResult {
        guard let p = await connected() else { return .failed("cannot connect to \(address)") }
        let e = envelope.event
        do {
            try p.publish(topic: "\(prefix)/\(e.plant)/\(e.equipment)", text: envelope.body, qos: 1)
        } catch {
            drop()
            return .failed("\(error)")
        }
        let deadline = ContinuousClock.now.advanced(by: acknowledgementTimeout)
        while p.outstanding > 0 {
            guard ContinuousClock.now < deadline else {
                drop()  // a fresh connection retries; the broker may then see it twice, same event_id
                return .failed("no PUBACK within \(acknowledgementTimeout)")
            }
            try? await Task.sleep(for: .milliseconds(1))
        }
        return .delivered
    }

    /// The publisher, connecting (on a thread of its own: libmosquitto's connect blocks) if needed.
    private func connected() async -> Publisher? {
        if let p = publisher.withLockedValue({ $0 }) { return p }
        let (address, clientID, username, password, tls) = (address, clientID, username, password, tls)
        let p: Publisher? = await withCheckedContinuation { done in
            Thread {
                done.resume(returning: try? Publisher(address: address, clientID: clientID, username: username, password: password,
                                                      tls: tls, connectTimeoutMilliseconds: 5_000))
            }.start()
        }
        publisher.withLockedValue { $0 = p }
        return p
    }

    private func drop() {
        publisher.withLockedValue { p in
            p?.close()
            p = nil
        }
    }
}

extension MQTTAlarmChannel: @unchecked Sendable {}
// Safe: the publisher sits behind a mutex, and one delivery task uses the channel at a time.
