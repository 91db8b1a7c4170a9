package runnel;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.lang.reflect.InvocationTargetException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.kafka.common.utils.internals.Exit;

/**
 * Runs Kafka command-line tools one after another in this one JVM, by their main classes (what bin/kafka-*.sh run),
 * so a test pays for one JVM start instead of one per command. Reads one JSON command per stdin line:
 * {"main": class, "args": [...], "input": text for the tool's stdin (optional)}; answers with one event per command:
 * {"event":"done","code":exit code,"stdout":...,"stderr":...}. Kafka's tools exit through Exit, which is redirected
 * here: the first exit code a tool asks for is its result. Shutdown hooks a tool registers run when its main
 * returns or exits, as they would when its own JVM ends (VerifiableProducer, for one, closes and so flushes its
 * producer in its hook; without it the last sends' acknowledgements could print after the result was taken).
 */
public final class ToolSession {
  private ToolSession() {}

  /** Thrown by the redirected Exit to unwind a tool's main. */
  private static final class ToolExit extends Error {
    ToolExit() {
      super(null, null, false, false);
    }
  }

  private static Integer exitCode;
  private static final List<Runnable> hooks = new ArrayList<>();

  /** Runs the hooks the last tool registered, each on its own thread as the JVM would, waiting up to 60 s each. */
  private static void runHooks() {
    for (Runnable hook : hooks) {
      Thread t = new Thread(hook, "tool-shutdown-hook");
      t.start();
      try {
        t.join(60_000);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      if (t.isAlive()) System.err.println("a shutdown hook was still running after 60 s");
    }
    hooks.clear();
  }

  public static void main(String[] argv) throws Exception {
    ObjectMapper json = new ObjectMapper();
    Exit.setExitProcedure((code, msg) -> {
      if (exitCode == null) exitCode = code;
      throw new ToolExit();
    });
    Exit.setHaltProcedure((code, msg) -> {
      if (exitCode == null) exitCode = code;
      throw new ToolExit();
    });
    Exit.setShutdownHookAdder((name, hook) -> hooks.add(hook));
    PrintStream realOut = System.out;
    PrintStream realErr = System.err;
    InputStream realIn = System.in;
    BufferedReader commands = new BufferedReader(new InputStreamReader(realIn, StandardCharsets.UTF_8));
    Out.emit("ready");
    for (String line; (line = commands.readLine()) != null; ) {
      if (line.isBlank()) continue;
      @SuppressWarnings("unchecked")
      Map<String, Object> cmd = json.readValue(line, Map.class);
      @SuppressWarnings("unchecked")
      List<String> args = (List<String>) cmd.get("args");
      String input = (String) cmd.getOrDefault("input", "");
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      ByteArrayOutputStream err = new ByteArrayOutputStream();
      exitCode = null;
      System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
      System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
      System.setIn(new ByteArrayInputStream(input.getBytes(StandardCharsets.UTF_8)));
      try {
        Class.forName((String) cmd.get("main")).getMethod("main", String[].class).invoke(null, (Object) args.toArray(new String[0]));
      } catch (InvocationTargetException e) {
        if (!(e.getCause() instanceof ToolExit)) {
          e.getCause().printStackTrace();
          if (exitCode == null) exitCode = 1;
        }
      } catch (Throwable t) {
        t.printStackTrace();
        if (exitCode == null) exitCode = 1;
      } finally {
        runHooks();
        System.out.flush();
        System.err.flush();
        System.setOut(realOut);
        System.setErr(realErr);
        System.setIn(realIn);
      }
      Out.emit("done", "code", exitCode == null ? 0 : exitCode, "stdout", out.toString(StandardCharsets.UTF_8), "stderr", err.toString(StandardCharsets.UTF_8));
    }
  }
}
