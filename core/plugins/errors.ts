export type PluginErrorCode =
  | 'LL_ERR_PLUGIN_INVALID'
  | 'LL_ERR_PLUGIN_DUPLICATE_ID'
  | 'LL_ERR_PLUGIN_NOT_FOUND'
  | 'LL_ERR_PLUGIN_MISSING_DEPENDENCY'
  | 'LL_ERR_PLUGIN_DEPENDENCY_CYCLE'
  | 'LL_ERR_REPORT_DUPLICATE_ID'

/** A plugin cannot be installed as configured. Raised at boot; `code` is stable and greppable. */
export class PluginError extends Error {
  readonly code: PluginErrorCode
  readonly pluginId: string | undefined
  constructor(code: PluginErrorCode, message: string, pluginId?: string) {
    super(`${code}: ${message}`)
    this.name = 'PluginError'
    this.code = code
    this.pluginId = pluginId
  }
}
