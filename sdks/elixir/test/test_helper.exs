# The SDK is started by each test with PulseKit.init/1; nothing is configured globally.
# The SDK's retry notes are debug lines: keep the test output to what matters.
Logger.configure(level: :info)
ExUnit.start()
