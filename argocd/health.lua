-- Argo CD health check for lastpass-operator.io kinds: LastPassUser, LastPassGroup and
-- DirectoryIntegration (the same script for the three keys of argocd-cm, see README "GitOps").
-- Argo CD runs it in gopher-lua (Lua 5.1) with the live object as `obj`.
--   Healthy      Ready=True and nothing held
--   Suspended    waiting for a person: a plan held by the safeguard (approve or reject it),
--                a rejected change, or a dry run
--   Progressing  the operator has not looked yet (no status, or an older generation), or a
--                transient state it retries by itself (LastPass unavailable, provisioning)
--   Degraded     Ready=False for any other reason: a conflict, bad credentials, an invalid
--                spec... the message says what to fix
local hs = {status = "Progressing", message = "waiting for the operator"}
local waiting = {DeprovisionBlocked = true, PlanRejected = true, DryRun = true}
local transient = {Provisioning = true, Pending = true, Deprovisioning = true,
  LastPassUnavailable = true, OutcomeUnknown = true, Interrupted = true, ReadNotTrusted = true}

if obj.status == nil or obj.status.conditions == nil then
  return hs
end
local generation = obj.metadata and obj.metadata.generation
local observed = obj.status.observedGeneration
if generation ~= nil and observed ~= nil and observed < generation then
  hs.message = "the operator has not yet acted on generation " .. generation
  return hs
end

local ready, held = nil, nil
for _, c in ipairs(obj.status.conditions) do
  if c.type == "Ready" then ready = c end
  if c.type == "DeprovisionBlocked" and c.status == "True" then held = c end
end
if held ~= nil then
  hs.status = "Suspended"
  hs.message = "DeprovisionBlocked: " .. (held.message or "")
  return hs
end
if ready == nil then
  return hs
end
hs.message = (ready.reason or "") .. ": " .. (ready.message or "")
if ready.status == "True" then
  hs.status = "Healthy"
elseif waiting[ready.reason] then
  hs.status = "Suspended"
elseif transient[ready.reason] then
  hs.status = "Progressing"
else
  hs.status = "Degraded"
end
return hs
