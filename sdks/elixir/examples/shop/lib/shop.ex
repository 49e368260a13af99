defmodule Shop do
  @moduledoc """
  The example: `PULSEKIT_DSN=http://pk_…@127.0.0.1:4000/1 mix run -e Shop.main()`.

  It sends a custom event, a handled exception, an error log and a GenServer crash.
  """

  require Logger

  def main do
    PulseKit.set_user(%{id: "42", email: "ada@example.com"})
    {:ok, _total} = Shop.Checkout.charge(%{id: 1234, quantity: 2, unit_cents: 2_499})

    params = %{"quantity" => "twelve"}

    try do
      String.to_integer(params["quantity"])
    rescue
      exception ->
        PulseKit.capture_exception(exception, stacktrace: __STACKTRACE__, tags: %{step: "parse"})
    end

    Logger.error("inventory service unreachable")

    # The call crashes the GenServer: the SDK's logger handler reports the crash.
    try do
      Shop.Checkout.charge(%{id: 1235, quantity: 0, unit_cents: 2_499})
    catch
      :exit, _reason -> :crashed
    end

    IO.puts("flushed: #{PulseKit.flush(10_000)}")
  end
end
