# PulseKit quickstart for Elixir. Run it in a project that depends on :pulsekit:
#   mix run quickstart.exs
PulseKit.init(dsn: "__DSN__", environment: "production", release: "shop@2.4.1")

# A custom event
PulseKit.capture(%{
  type: "payment.success",
  level: :info,
  message: "Order 1234 paid",
  metadata: %{amount_cents: 4999, currency: "EUR"},
  tags: %{provider: "stripe"}
})

# A message
PulseKit.capture_message("Inventory below 10 units", level: :warning)

# A handled exception (crashed processes and Logger.error calls are reported by themselves)
try do
  raise ArgumentError, "quantity must be positive"
rescue
  exception -> PulseKit.capture_exception(exception, stacktrace: __STACKTRACE__)
end

# Wait until everything is sent (a long-running app does not need this)
PulseKit.flush(5_000)
