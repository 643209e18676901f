/// corebox's own version, printed by `corebox --version`.
public enum Corebox {
    public static let version = "0.1.0"
}
