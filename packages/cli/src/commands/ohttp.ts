/**
 * @module commands/ohttp
 */
import type { Command } from 'commander';

export function registerOhttpCommands(program: Command): void {
  void program;
}
