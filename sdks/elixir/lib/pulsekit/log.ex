defmodule PulseKit.Log do
  @moduledoc false
  # The SDK's own log lines. They carry `pulsekit_internal: true` so the SDK's logger handler
  # never turns them into events (a refused batch must not produce another batch).

  require Logger

  def warning(message), do: Logger.warning("pulsekit: " <> message, pulsekit_internal: true)
  def error(message), do: Logger.error("pulsekit: " <> message, pulsekit_internal: true)
  def debug(message), do: Logger.debug("pulsekit: " <> message, pulsekit_internal: true)
end
