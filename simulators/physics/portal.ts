/**
 * Portal geometry (SPEC §2): two pillars on opposite sides of a 4–5 m lane, each with detector
 * elements at different heights. A *channel* is what one count field reports; it sums one or
 * more elements, so the same physics feeds a 4 + 4 channel VM-250 and a 1 + 1 channel Modbus RPM.
 *
 * Frame: y across the lane, 0 on the lane centre line, master pillar at −W/2, slave at +W/2;
 * z is the height above the road.
 */

export interface DetectorElement {
  /** Lateral position of the panel face (m). */
  readonly lateralM: number;
  /** Height of the panel's centre (m). */
  readonly heightM: number;
  /** Relative efficiency (1 = nominal). */
  readonly weight: number;
}

export interface DetectorChannel {
  readonly name: string;
  readonly elements: readonly DetectorElement[];
}

export interface PortalGeometry {
  readonly laneWidthM: number;
  /** Occupancy sensors sit this far before and after the detector plane (m). */
  readonly sensorOffsetM: number;
  /** Which pillar stands on the driver's side (medical sources sit there). */
  readonly driverSide: 'master' | 'slave';
  readonly gamma: readonly DetectorChannel[];
  readonly neutron: readonly DetectorChannel[];
}

export interface TwoPillarOptions {
  readonly laneWidthM?: number;
  readonly lowerHeightM?: number;
  readonly upperHeightM?: number;
  readonly sensorOffsetM?: number;
  readonly driverSide?: 'master' | 'slave';
}

/** The four panel positions of a two-pillar portal, by name. */
export function twoPillarElements(options: TwoPillarOptions = {}): Record<PanelName, DetectorElement> {
  const half = (options.laneWidthM ?? 4.5) / 2;
  const lower = options.lowerHeightM ?? 1.0;
  const upper = options.upperHeightM ?? 2.7;
  return {
    masterUpper: { lateralM: -half, heightM: upper, weight: 1 },
    masterLower: { lateralM: -half, heightM: lower, weight: 1 },
    slaveLower: { lateralM: half, heightM: lower, weight: 1 },
    slaveUpper: { lateralM: half, heightM: upper, weight: 1 },
  };
}

export type PanelName = 'masterUpper' | 'masterLower' | 'slaveLower' | 'slaveUpper';

/**
 * A portal whose gamma and neutron channels are the named panels in the given order, one
 * channel each (default order `[masterUpper, masterLower, slaveLower, slaveUpper]`, SPEC §1.1).
 */
export function twoPillarPortal(
  options: TwoPillarOptions & { readonly order?: readonly PanelName[] } = {},
): PortalGeometry {
  const panels = twoPillarElements(options);
  const order = options.order ?? (['masterUpper', 'masterLower', 'slaveLower', 'slaveUpper'] as const);
  const channels = order.map((name) => ({ name, elements: [panels[name]] }));
  return {
    laneWidthM: options.laneWidthM ?? 4.5,
    sensorOffsetM: options.sensorOffsetM ?? 0.5,
    driverSide: options.driverSide ?? 'master',
    gamma: channels,
    neutron: channels,
  };
}

/** A portal that sums all four panels into one gamma and one neutron channel (Modbus RPMs, SPEC §1.2). */
export function summedPortal(options: TwoPillarOptions = {}): PortalGeometry {
  const panels = Object.values(twoPillarElements(options));
  const one = [{ name: 'sum', elements: panels }];
  return {
    laneWidthM: options.laneWidthM ?? 4.5,
    sensorOffsetM: options.sensorOffsetM ?? 0.5,
    driverSide: options.driverSide ?? 'master',
    gamma: one,
    neutron: one,
  };
}

/** Lateral position of the driver's-side pillar (m). */
export function driverSideLateral(portal: PortalGeometry): number {
  return (portal.driverSide === 'master' ? -1 : 1) * (portal.laneWidthM / 2);
}
