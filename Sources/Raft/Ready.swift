/// Everything the application must act on, in this order:
/// 1. persist `snapshot`, then `entries`, then `hardState` (atomically, or in that order);
/// 2. send `messages` — only now, since they promise what step 1 made durable (votes, acks);
/// 3. apply `snapshot` and then `committedEntries` to the state machine, serve `readStates`;
/// 4. call `advance(_:)` with this value before asking for the next `Ready`.
public struct Ready: Sendable {
    /// Set when the leader or the role changed.
    public var softState: SoftState?
    /// Set when it changed since the last `Ready`.
    public var hardState: HardState?
    public var entries: [Entry] = []
    public var snapshot: Snapshot?
    public var committedEntries: [Entry] = []
    public var messages: [Message] = []
    public var readStates: [ReadState] = []

    public init() {}
}
