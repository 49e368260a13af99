defmodule PulseKit.ScopeTest do
  use ExUnit.Case, async: false

  import PulseKitTest.Helpers
  alias PulseKitTest.HTTPServer

  setup do
    server = HTTPServer.start()
    on_exit(fn -> cleanup(server) end)
    start_sdk(server, tags: %{service: "billing"}, batch_interval_ms: 60_000)
    {:ok, server: server}
  end

  test "tags, user and context set in one process never reach another process's events", %{
    server: server
  } do
    parent = self()

    workers =
      for n <- 1..40 do
        spawn_link(fn ->
          PulseKit.set_tags(%{worker: n})
          PulseKit.set_user(%{id: n})
          PulseKit.set_context(:job, %{n: n})
          send(parent, {:ready, self()})
          # Every worker has set its scope before any of them captures.
          receive do: (:go -> :ok)
          send(parent, {:captured, n, PulseKit.capture_message("from #{n}")})
        end)
      end

    for pid <- workers, do: assert_receive({:ready, ^pid}, 5_000)
    Enum.each(workers, &send(&1, :go))

    ids =
      for _ <- workers,
          into: %{},
          do:
            (
              assert_receive({:captured, n, id}, 5_000)
              {id, n}
            )

    bystander = PulseKit.capture_message("from the test process")

    assert PulseKit.flush(5_000)
    events = received_events(server)
    assert length(events) == 41

    for event <- events, event["id"] != bystander do
      n = Map.fetch!(ids, event["id"])
      assert event["message"] == "from #{n}"
      assert event["tags"] == %{"service" => "billing", "worker" => "#{n}"}
      assert event["user"] == %{"id" => "#{n}"}
      assert event["metadata"] == %{"job" => %{"n" => n}}
    end

    assert [%{"tags" => %{"service" => "billing"}} = plain] =
             Enum.filter(events, &(&1["id"] == bystander))

    refute Map.has_key?(plain, "user") or Map.has_key?(plain, "metadata")
  end

  test "a task started by a process does not inherit its scope", %{server: server} do
    PulseKit.set_tags(%{request_id: "r-1"})
    id = Task.async(fn -> PulseKit.capture_message("in a task") end) |> Task.await()

    assert PulseKit.flush(5_000)
    assert [%{"id" => ^id, "tags" => %{"service" => "billing"} = tags}] = received_events(server)
    refute Map.has_key?(tags, "request_id")
  end

  test "with_scope adds values for its block and restores the scope after it, even after a raise",
       %{server: server} do
    PulseKit.set_tags(%{region: "eu"})

    inside =
      PulseKit.with_scope(
        [tags: %{job_id: 7781}, user: %{id: "7"}, context: %{step: %{n: 1}}],
        fn ->
          PulseKit.capture_message("inside")
        end
      )

    assert_raise RuntimeError, fn ->
      PulseKit.with_scope(%{tags: %{leak: "no"}}, fn -> raise "boom" end)
    end

    outside = PulseKit.capture(%{message: "outside", tags: %{region: "us"}})

    assert PulseKit.flush(5_000)
    events = Map.new(received_events(server), &{&1["id"], &1})

    assert events[inside]["tags"] == %{
             "service" => "billing",
             "region" => "eu",
             "job_id" => "7781"
           }

    assert events[inside]["user"] == %{"id" => "7"}
    assert events[inside]["metadata"] == %{"step" => %{"n" => 1}}
    # The call's own tags win over the process's, which win over the global ones.
    assert events[outside]["tags"] == %{"service" => "billing", "region" => "us"}
    refute Map.has_key?(events[outside], "user")
  end

  test "a nil tag removes it and clear_context forgets everything", %{server: server} do
    PulseKit.set_tags(%{a: 1, b: 2})
    PulseKit.set_tag(:a, nil)
    first = PulseKit.capture_message("one")
    PulseKit.clear_context()
    second = PulseKit.capture_message("two")

    assert PulseKit.flush(5_000)
    events = Map.new(received_events(server), &{&1["id"], &1["tags"]})
    assert events[first] == %{"service" => "billing", "b" => "2"}
    assert events[second] == %{"service" => "billing"}
  end
end
