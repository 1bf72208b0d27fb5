export interface Flash {
  readonly kind: 'success' | 'info' | 'error'
  readonly text: string
}

export function FlashMessage(props: { flash: Flash | undefined }) {
  if (!props.flash) return null
  return <p class={`flash flash-${props.flash.kind}`} role={props.flash.kind === 'error' ? 'alert' : 'status'}>{props.flash.text}</p>
}
