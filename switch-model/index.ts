// The programmable-switch model: a PISA (P4, Tofino-like) pipeline as actors, with the
// hardware's limits enforced. See docs/switch-model.md.
export {
  PORT_NONE, PORT_CPU, PORT_RECIRC, DEFAULT_PAYLOAD_BYTES, markDrop, payloadBytesOf, cloneHeaders, withFields,
  type Packet, type PacketMeta,
} from './packet.ts';
export {
  defineProgram, table, register, counter, stage, ProgramError, actionDataBits, keyBits,
  type SwitchProgram, type ProgramSpec, type StageDef, type StageEnv, type StageUses, type TableDecl, type RegisterDecl, type CounterDecl,
  type KeyField, type ActionDef, type ActionCall, type ActionParams, type ApplyResult, type MatchKind, type CellBits, type CellValue,
  type RegisterAccess, type CounterAccess,
} from './program.ts';
export { TableRuntime, and53, type MatchField } from './table.ts';
export { StageRuntime, SwitchRuleViolation, RegisterArray, CounterArray } from './stage.ts';
export { TOFINO_LIKE, profile, wireMs, type TargetProfile } from './profile.ts';
export {
  checkResources, assertFits, formatResourceReport, ResourceError, type ResourceReport, type StageUsage, type ItemUsage,
} from './resources.ts';
export { ParserUnit, TrafficManager, DeparserUnit } from './pipeline.ts';
export { RESTARTED, type SwitchSetup } from './control.ts';
export {
  BROADCAST_MAC, controlSchemas, frameSchemas, emptyStats, mergeStats, versioned,
  type Frame, type SwitchStats, type ControlRequest, type ControlReply, type TableInsert, type TableDelete, type TableClear, type TableSetDefault,
  type RegisterRead, type RegisterWrite, type RegisterReset, type CounterRead, type MulticastGroupSet, type StatsRead,
  type PacketIn, type PacketOut, type PacketInSubscribe, type Rx, type VersionedWrite,
} from './messages.ts';
export { STALE } from './versions.ts';
export { placeSwitch, portPath, addressPath, senderPorts, SwitchSetupError, type SwitchConfig, type SwitchRefs, type SwitchMode } from './switch.ts';
export {
  rack, leafSpine, addSwitchSchemas, hostMac,
  type Rack, type RackOptions, type LeafSpine, type LeafSpineOptions, type AttachedHost, type LeafSpineHost,
} from './topologies.ts';
export { l2Forwarding, l2Setup, l2Learner, FLOOD_GROUP, isFrame, type L2Headers, type L2Options } from './programs/l2-forwarding.ts';
export { l3Forwarding, l3Setup, ipv4, type L3Headers, type L3Options, type Route } from './programs/l3-forwarding.ts';
export {
  oumSequencer, oumController, oumMulticastGroup,
  type OumHeaders, type OumSequencerOptions, type OumControllerConfig, type OumControllerMsg, type OumControllerState, type OumToCpu,
} from './programs/oum-sequencer.ts';
export { stageChain, stageChainSetup, type ChainHeaders } from './programs/stage-chain.ts';
