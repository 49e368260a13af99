defmodule Shop.Checkout do
  @moduledoc "A GenServer that charges orders; a bad order crashes it (the supervisor restarts it)."
  use GenServer

  def start_link(_opts), do: GenServer.start_link(__MODULE__, :ok, name: __MODULE__)

  def charge(order), do: GenServer.call(__MODULE__, {:charge, order})

  @impl true
  def init(:ok) do
    # Tags set here are on this process's events, its crash report included.
    PulseKit.set_tags(%{component: "checkout"})
    {:ok, %{charged: 0}}
  end

  @impl true
  def handle_call({:charge, order}, _from, state) do
    total = total_cents(order)

    PulseKit.capture(%{
      type: "payment.success",
      message: "Order #{order.id} paid",
      metadata: %{amount_cents: total}
    })

    {:reply, {:ok, total}, %{state | charged: state.charged + 1}}
  end

  defp total_cents(%{quantity: quantity}) when quantity <= 0,
    do: raise(ArgumentError, "quantity must be positive, got #{quantity}")

  defp total_cents(%{quantity: quantity, unit_cents: unit_cents}), do: quantity * unit_cents
end
