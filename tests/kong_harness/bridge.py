"""Instance management and the event loop of external plugins.

Why: reproduces kong/runloop/plugin_servers/init.lua ``get_instance_id``
(claim, 0.1 s polling up to 10 s, StartInstance, CloseInstance of a replaced
id, the 3.6.1 ``conf.__plugin_id == key`` reuse test) and mp_rpc.lua
``bridge_loop``/``Rpc:handle_event`` (post ``reset_instances``, unbounded
retry on "no plugin instance", fail-open on other errors).  The 3.6.1 spin of
issue #12364 on workers != 0 is reproduced; the only divergence is the
``max_no_instance_retries`` guard that records "spin" in the error log and
gives the phase up so tests stay bounded.
"""
from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from .luatypes import LuaError
from .pdk_registry import call_pdk_method, get_step_method
from .rpc import CallInfo, Rpc

if TYPE_CHECKING:  # pragma: no cover
    from .request_ctx import RequestContext
    from .runtime import Worker

SLEEP_STEP = 0.1
MAX_WAIT_STEPS = 10 / SLEEP_STEP


def get_instance_id(worker: "Worker", rpc: Rpc, info: CallInfo, plugin_name: str, conf: Any) -> Any:
    """plugin_servers/init.lua get_instance_id -> (id) or (None, err); raises on StartInstance failure."""
    key = (info.rq.ctx.get("plugin_id") if info.rq is not None else None) if isinstance(conf, dict) else plugin_name
    if key is None:
        key = plugin_name
    instances = worker.running_instances
    with worker.lock:
        instance = instances.get(key)
    wait_count = 0
    while instance is not None and instance.get("id") is None:
        time.sleep(SLEEP_STEP)  # ngx.sleep: another request is starting it
        wait_count += 1
        if wait_count > MAX_WAIT_STEPS:
            with worker.lock:
                instances.pop(key, None)
            return None, "Could not claim instance_id for %s (key: %s)" % (plugin_name, key)
        with worker.lock:
            instance = instances.get(key)

    with worker.lock:
        instance = instances.get(key)
        if instance is not None and instance.get("id") is not None \
                and isinstance(instance.get("conf"), dict) and instance["conf"].get("__plugin_id") == key:
            return instance["id"], None  # 3.6.1: config changes are not detected (#12718)
        old_id = instance.get("id") if instance is not None else None
        if instance is None:
            instance = {"conf": conf}
            instances[key] = instance
        else:
            instance["id"] = None

    new_info, err = rpc.call_start_instance(info, plugin_name, conf)
    if new_info is None:
        worker.runtime.log_for(info.rq, "error", "starting instance: %s" % err,
                               src="init.lua:240", plugin=plugin_name)
        with worker.lock:
            instances.pop(key, None)
        raise LuaError(str(err))
    with worker.lock:
        instance.update(id=new_info["id"], plugin_name=plugin_name, conf=new_info["conf"],
                        Config=new_info["Config"], rpc=rpc)
        instances[key] = instance
    if old_id is not None:
        rpc.call_close_instance(info, old_id)
    return instance["id"], None


def bridge_loop(rpc: Rpc, info: CallInfo, instance_id: Any, phase: str) -> Any:
    """mp_rpc.lua bridge_loop -> error string or None."""
    event = {"EventName": phase} if instance_id is None else {"InstanceId": instance_id, "EventName": phase}
    step_in, err = rpc.call(CallInfo(info.rq, info.plugin, info.phase), "plugin.HandleEvent", event)
    if step_in is None:
        return err
    if not isinstance(step_in, dict):
        raise LuaError("attempt to index local 'step_in' (a %s value)" % type(step_in).__name__)
    event_id = step_in.get("EventId")
    while True:
        data = step_in.get("Data")
        if data == "ret":
            return None
        if not isinstance(data, dict):
            raise LuaError("attempt to index field 'Data' (a %s value)" % ("nil" if data is None else "string"))
        method = data.get("Method")
        pdk_res = call_pdk_method(info.rq, method, data.get("Args"))
        step_method = get_step_method(method, pdk_res)
        step_data = {"EventId": event_id}
        if pdk_res is not None:
            step_data["Data"] = pdk_res
        step_in, err = rpc.call(CallInfo(info.rq, info.plugin, info.phase, pdk_method=method),
                                step_method, step_data)
        if step_in is None:
            return err
        if not isinstance(step_in, dict):
            raise LuaError("attempt to index local 'step_in' (a %s value)" % type(step_in).__name__)


def handle_event(worker: "Worker", server_name: str, plugin_name: str, conf: Any, phase: str,
                 rq: "RequestContext") -> None:
    """mp_rpc.lua Rpc:handle_event (tail-call retry written as a loop)."""
    rpc = worker.rpc_for(server_name)
    info = CallInfo(rq, plugin_name, phase)
    retries = 0
    while True:
        instance_id, _claim_err = get_instance_id(worker, rpc, info, plugin_name, conf)
        err = bridge_loop(rpc, info, instance_id, phase)
        if err is None:
            return
        worker.runtime.post_worker_event("plugin_server", "reset_instances",
                                         {"plugin_name": plugin_name, "conf": conf})
        if "no plugin instance" in str(err).lower():
            worker.runtime.log_for(rq, "warn", str(err), src="mp_rpc.lua:340", plugin=plugin_name)
            retries += 1
            if retries >= worker.runtime.max_no_instance_retries:
                worker.runtime.log_for(rq, "error",
                                       "spin: %d consecutive 'no plugin instance' retries on worker %d for "
                                       "plugin '%s' (Kong 3.6.1 would retry forever, #12364); harness gives "
                                       "up this phase" % (retries, worker.id, plugin_name),
                                       src="harness", plugin=plugin_name)
                return
            continue
        worker.runtime.log_for(rq, "error", str(err), src="mp_rpc.lua:343", plugin=plugin_name)
        return
