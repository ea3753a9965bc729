package device

// Direction selects input (capture) or output (playback) devices.
type Direction int

const (
	// Input devices capture: MaxInputChannels > 0.
	Input Direction = iota
	// Output devices play: MaxOutputChannels > 0.
	Output
)

// String returns "input" or "output".
func (d Direction) String() string {
	if d == Output {
		return "output"
	}
	return "input"
}
