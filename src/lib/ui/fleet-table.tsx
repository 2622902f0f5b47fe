// Ink's side of the dashboard's list view: each line comes ready-styled from fleet-lines.ts (one
// <Text> per line costs Ink far less than a <Text> per cell, and the pre-Ink first frame is the same text).
import { Box, Text } from "ink";

export function Lines(props: { lines: string[] }) {
  return (
    <Box flexDirection="column">
      {props.lines.map((l, i) => (
        <Text key={i} wrap="truncate">
          {l || " "}
        </Text>
      ))}
    </Box>
  );
}
