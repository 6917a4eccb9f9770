-- Argo CD health check for the ltv-operator's kinds (analytics.ltv-operator.io):
-- LTVComputation and CustomerSegment. One script serves both; register it under
--   resource.customizations.health.analytics.ltv-operator.io_LTVComputation
--   resource.customizations.health.analytics.ltv-operator.io_CustomerSegment
-- (see argocd-cm-patch.yaml and docs/gitops.md).
--
-- The operator writes kstatus conditions: Ready once it has seen the object, Reconciling and
-- Stalled only while true. This script agrees with kstatus (Flux's health checks):
--   Stalled=True                    -> Degraded     (kstatus Failed: fix the spec or the data)
--   Reconciling=True                -> Progressing  (kstatus InProgress: a run or a retry)
--   Ready=True                      -> Healthy      (kstatus Current)
--   Ready reason Suspended          -> Suspended    (spec.suspend: no scheduled runs)
--   Ready=False/Unknown otherwise   -> Progressing  (kstatus InProgress: waiting, e.g. for the
--                                                    source ConfigMap to appear)
--   no status, or an older generation observed -> Progressing
--   being deleted (deletionTimestamp set)      -> Progressing "deleting"
local hs = {}

if obj.metadata ~= nil and obj.metadata.deletionTimestamp ~= nil then
  hs.status = "Progressing"
  hs.message = "deleting"
  return hs
end

local function condition(conditions, condType)
  for _, c in ipairs(conditions) do
    if c.type == condType then
      return c
    end
  end
  return nil
end

local function describe(c)
  local text = c.reason or ""
  if c.message ~= nil and c.message ~= "" then
    if text ~= "" then
      text = text .. ": "
    end
    text = text .. c.message
  end
  return text
end

if obj.status == nil or obj.status.conditions == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for the ltv-operator to report status"
  return hs
end

local generation = obj.metadata.generation
if generation ~= nil and obj.status.observedGeneration ~= generation then
  hs.status = "Progressing"
  hs.message = "Waiting for the ltv-operator to observe generation " .. string.format("%d", generation)
  return hs
end

local conditions = obj.status.conditions
local stalled = condition(conditions, "Stalled")
if stalled ~= nil and stalled.status == "True" then
  hs.status = "Degraded"
  hs.message = describe(stalled)
  return hs
end

local reconciling = condition(conditions, "Reconciling")
if reconciling ~= nil and reconciling.status == "True" then
  hs.status = "Progressing"
  hs.message = describe(reconciling)
  return hs
end

local ready = condition(conditions, "Ready")
if ready == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for the Ready condition"
  return hs
end
if ready.reason == "Suspended" then
  hs.status = "Suspended"
  hs.message = describe(ready)
  return hs
end
if ready.status == "True" then
  hs.status = "Healthy"
  hs.message = describe(ready)
  return hs
end
hs.status = "Progressing"
hs.message = describe(ready)
return hs
