"""The Blender side of character B-roll: build the presenter, animate it and render PNG frames with alpha.

    python -m ave_core.blender_scene SCENE.json FRAMES_DIR

Runs in a Python process of its own (ave_core.character starts it), so that Blender crashing or hanging
cannot take the broll stage with it. SCENE.json is `character.scene_description()`: the action's key poses
already fitted to the clip, the idle layer, colours, size, engine. Everything is made by this code from
primitives (no downloaded assets): a bust with an armature of 30 bones, each body part a mesh parented to
its bone, a face whose brows, eyes, lids and mouth are bones too. The idle layer and the gesture are two
actions on two NLA tracks; the gesture replaces the idle pose of the parts it moves and blends in and out.

Exit status 3 means bpy could not be imported (Blender is not installed in this Python).
"""

from __future__ import annotations

import json
import math
import os
import sys
from pathlib import Path
from typing import Any

BLENDER_MISSING = 3

# the rig in the character's space (x: screen right, y: into the screen, z: up), metres
SHOULDER_X, SHOULDER_Z = 0.36, 0.82
UPPER_ARM_M, FOREARM_M, HAND_M, FINGER_M = 0.41, 0.35, 0.11, 0.1
HEAD_Z, HEAD_R = 1.36, 0.3
CURL_DEG = 95.0  # a finger at curl 1
LOOK_DEG = 22.0  # the eyes at look 1
BROW_M = 0.035  # the brows at raise 1
FINGER_SPREAD = {"index": 1.5, "middle": 0.5, "ring": -0.5, "pinky": -1.5}  # along the palm, thumb side +


def main(argv: list[str]) -> int:
    """Build the scene described in argv[0], render its frames into argv[1]."""
    try:
        import bpy  # noqa: F401
    except ImportError as exc:
        print(f"bpy cannot be imported in {sys.executable}: {exc}", file=sys.stderr)
        return BLENDER_MISSING
    scene_file, frames_dir = Path(argv[0]), Path(argv[1])
    description = json.loads(scene_file.read_text(encoding="utf-8"))
    Builder(description).render(frames_dir)
    return 0


def srgb_to_linear(hex_colour: str) -> tuple[float, float, float, float]:
    """'#rrggbb' as the linear RGBA that Blender's materials take."""
    value = hex_colour.lstrip("#")
    channels = [int(value[i : i + 2], 16) / 255 for i in (0, 2, 4)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return linear[0], linear[1], linear[2], 1.0


class Builder:
    """One clip's scene: materials, armature, meshes, animation, camera, render settings."""

    def __init__(self, description: dict[str, Any]) -> None:
        import bpy

        self.bpy = bpy
        self.d = description
        bpy.ops.wm.read_factory_settings(use_empty=True)
        self.scene = bpy.context.scene
        self.materials: dict[str, Any] = {}
        self.rest = description["rest"]
        self.make_materials()
        self.make_rig()
        self.make_body()
        self.animate()
        self.make_camera()
        self.configure_render()

    # --- materials ------------------------------------------------------------------------

    def make_materials(self) -> None:
        colours = dict(self.d["colors"])
        colours.update({"white": "#fbfbf8", "pupil": "#1b1d24", "mouth": "#7a2430"})
        for name, hex_colour in colours.items():
            material = self.bpy.data.materials.new(name)
            rgba = srgb_to_linear(hex_colour)
            material.diffuse_color = rgba  # Workbench draws this
            material.roughness = 0.55
            material.use_nodes = True  # Cycles and Eevee draw the node tree
            bsdf = material.node_tree.nodes.get("Principled BSDF")
            if bsdf is not None:
                bsdf.inputs["Base Color"].default_value = rgba
                bsdf.inputs["Roughness"].default_value = 0.55
            self.materials[name] = material

    # --- armature -------------------------------------------------------------------------

    def make_rig(self) -> None:
        from mathutils import Vector

        bpy = self.bpy
        armature = bpy.data.armatures.new("presenter")
        self.rig = bpy.data.objects.new("presenter", armature)
        self.scene.collection.objects.link(self.rig)
        bpy.context.view_layer.objects.active = self.rig
        bpy.ops.object.mode_set(mode="EDIT")
        bones = armature.edit_bones
        self.hand_frames: dict[str, tuple[Any, Any, Any]] = {}

        def bone(name: str, head: Any, tail: Any, parent: str | None = None, connect: bool = False) -> Any:
            made = bones.new(name)
            made.head, made.tail = Vector(head), Vector(tail)
            made.roll = 0.0
            if parent is not None:
                made.parent = bones[parent]
                made.use_connect = connect
            return made

        bone("root", (0, 0, 0.75), (0, 0, 0.95))  # the pop-in scales about the chest
        bone("spine", (0, 0, 0.45), (0, 0, 0.9), "root")
        bone("neck", (0, 0, 0.9), (0, 0, 1.08), "spine", connect=True)
        bone("head", (0, 0, 1.08), (0, 0, 1.7), "neck", connect=True)
        for side, sign in (("L", 1.0), ("R", -1.0)):
            eye = Vector((sign * 0.105, -0.245, 1.39))
            bone(f"blink.{side}", eye, eye + Vector((0, -0.05, 0)), "head")
            bone(f"eye.{side}", eye, eye + Vector((0, -0.08, 0)), f"blink.{side}")
            brow = Vector((sign * 0.07, -0.285, 1.485))
            bone(f"brow.{side}", brow, brow + Vector((sign * 0.07, 0, 0)), "head")
            self.make_arm_bones(bone, side, sign)
        bone("mouth", (0, -0.27, 1.23), (0, -0.33, 1.23), "head")
        bpy.ops.object.mode_set(mode="OBJECT")
        for pose_bone in self.rig.pose.bones:
            pose_bone.rotation_mode = "QUATERNION"

    def make_arm_bones(self, bone: Any, side: str, sign: float) -> None:
        from mathutils import Vector

        arm = self.rest[f"arm.{side}"]
        shoulder_root = Vector((sign * 0.08, 0, SHOULDER_Z))
        shoulder = Vector((sign * SHOULDER_X, 0, SHOULDER_Z))
        bone(f"shoulder.{side}", shoulder_root, shoulder, "spine")
        elbow = shoulder + Vector(arm["upper"]).normalized() * UPPER_ARM_M
        wrist = elbow + Vector(arm["fore"]).normalized() * FOREARM_M
        direction, palm = orthonormal(Vector(arm["hand"]), Vector(arm["palm"]))
        bone(f"upper_arm.{side}", shoulder, elbow, f"shoulder.{side}", connect=True)
        bone(f"forearm.{side}", elbow, wrist, f"upper_arm.{side}", connect=True)
        bone(f"hand.{side}", wrist, wrist + direction * HAND_M, f"forearm.{side}", connect=True)
        across = direction.cross(palm)  # along the palm's width
        thumb_side = -across * sign  # the thumb is in front of a hanging hand, on both sides
        self.hand_frames[side] = (direction, palm, thumb_side)
        for finger, spread in FINGER_SPREAD.items():
            root = wrist + direction * HAND_M + thumb_side * (0.027 * spread)
            bone(f"{finger}.{side}", root, root + direction * FINGER_M, f"hand.{side}")
        thumb_root = wrist + direction * 0.04 + thumb_side * 0.06
        thumb_direction = (direction * 0.55 + thumb_side * 0.75 - palm * 0.2).normalized()
        bone(f"thumb.{side}", thumb_root, thumb_root + thumb_direction * 0.085, f"hand.{side}")

    # --- meshes ---------------------------------------------------------------------------

    def make_body(self) -> None:
        from mathutils import Euler

        self.part("torso", "sphere", "spine", "primary", (0, 0, 0.42), (0.4, 0.27, 0.54))
        self.part("tie", "cone4", "spine", "accent", (0, -0.258, 0.7), (0.075, 0.03, 0.16),
                  Euler((0, 0, math.pi / 4)))  # fmt: skip
        self.part("collar", "torus", "spine", "accent", (0, 0, 0.9), (1.0, 1.0, 1.0), major=0.13, minor=0.03)
        self.part("neck", "cylinder", "neck", "skin", (0, 0, 0.99), (0.085, 0.085, 0.12))
        self.part("head", "sphere", "head", "skin", (0, 0, HEAD_Z), (HEAD_R, HEAD_R * 0.96, HEAD_R))
        self.part("hair", "sphere", "head", "hair", (0, 0.04, 1.45), (0.318, 0.3, 0.27))
        self.part("nose", "sphere", "head", "skin", (0, -0.3, 1.315), (0.042, 0.04, 0.04))
        for side, sign in (("L", 1.0), ("R", -1.0)):
            self.part(f"ear.{side}", "sphere", "head", "skin", (sign * 0.295, 0, 1.35), (0.04, 0.06, 0.075))
            self.part(f"eye.{side}", "sphere", f"eye.{side}", "white", (sign * 0.105, -0.245, 1.39),
                      (0.064, 0.064, 0.07))  # fmt: skip
            self.part(f"pupil.{side}", "sphere", f"eye.{side}", "pupil", (sign * 0.105, -0.302, 1.39),
                      (0.032, 0.014, 0.036))  # fmt: skip
            self.part(f"brow.{side}", "cube", f"brow.{side}", "hair", (sign * 0.105, -0.285, 1.485),
                      (0.058, 0.014, 0.016), Euler((0, sign * -0.12, 0)))  # fmt: skip
            self.make_arm(side, sign)
        self.part("mouth", "smile", "mouth", "mouth", (0, -0.285, 1.235), (1.0, 1.0, 1.0),
                  Euler((math.pi / 2, 0, 0)))  # fmt: skip

    def make_arm(self, side: str, sign: float) -> None:
        from mathutils import Vector

        bones = self.rig.data.bones
        self.part(f"shoulder.{side}", "sphere", f"shoulder.{side}", "primary",
                  tuple(bones[f"upper_arm.{side}"].head_local), (0.105, 0.1, 0.1))  # fmt: skip
        for name, radius in ((f"upper_arm.{side}", 0.075), (f"forearm.{side}", 0.068)):
            self.limb(name, name, "primary", radius)
        self.part(f"elbow.{side}", "sphere", f"forearm.{side}", "primary",
                  tuple(bones[f"forearm.{side}"].head_local), (0.074, 0.074, 0.074))  # fmt: skip
        hand = bones[f"hand.{side}"]
        direction, palm, thumb_side = self.hand_frames[side]
        wrist = Vector(hand.head_local)
        cuff = self.part(f"cuff.{side}", "torus", f"forearm.{side}", "accent",
                         tuple(wrist - direction * 0.01), (1, 1, 1), major=0.066, minor=0.022)  # fmt: skip
        self.align(cuff, direction, f"forearm.{side}")
        palm_shape = self.part(f"palm.{side}", "sphere", f"hand.{side}", "skin",
                               tuple(wrist + direction * 0.07), (0.085, 0.045, 0.085))  # fmt: skip
        self.align(palm_shape, palm, f"hand.{side}", axis="Y")
        for finger in ("thumb", *FINGER_SPREAD):
            self.limb(f"{finger}.{side}", f"{finger}.{side}", "skin", 0.026, tip=True)

    def limb(self, name: str, bone_name: str, material: str, radius: float, tip: bool = False) -> None:
        """A cylinder along a bone (and a round tip)."""
        bone = self.rig.data.bones[bone_name]
        head, tail = bone.head_local, bone.tail_local
        length = (tail - head).length
        body = self.part(name, "cylinder", bone_name, material, tuple((head + tail) / 2),
                         (radius, radius, length / 2))  # fmt: skip
        self.align(body, tail - head, bone_name)
        if tip:
            self.part(f"{name}.tip", "sphere", bone_name, material, tuple(tail), (radius,) * 3)

    def align(self, obj: Any, direction: Any, bone_name: str, axis: str = "Z") -> None:
        """Turn `obj` so that its local `axis` lies along `direction`, and re-parent it to its bone."""
        from mathutils import Vector

        base = Vector((0, 0, 1)) if axis == "Z" else Vector((0, 1, 0))
        obj.parent = None
        obj.matrix_parent_inverse.identity()
        obj.rotation_mode = "QUATERNION"
        obj.rotation_quaternion = base.rotation_difference(direction.normalized())
        self.bpy.context.view_layer.update()
        self.parent_to_bone(obj, bone_name)

    def part(
        self, name: str, shape: str, bone_name: str, material: str, location: Any, scale: Any,
        rotation: Any = None, major: float = 0.1, minor: float = 0.02,
    ) -> Any:  # fmt: skip
        """A mesh part of `shape` placed in the character's space and parented to its bone."""
        bpy = self.bpy
        mesh = bpy.data.meshes.new(name)
        build_mesh(mesh, shape, major, minor)
        obj = bpy.data.objects.new(name, mesh)
        obj.data.materials.append(self.materials[material])
        self.scene.collection.objects.link(obj)
        obj.location = location
        obj.scale = scale
        if rotation is not None:
            obj.rotation_euler = rotation
        bpy.context.view_layer.update()
        self.parent_to_bone(obj, bone_name)
        return obj

    def parent_to_bone(self, obj: Any, bone_name: str) -> None:
        """Parent `obj` to a bone, keeping where it is at rest."""
        from mathutils import Matrix

        world = obj.matrix_world.copy()
        bone = self.rig.data.bones[bone_name]
        obj.parent = self.rig
        obj.parent_type = "BONE"
        obj.parent_bone = bone_name
        # a bone child hangs from the bone's tail
        at_tail = self.rig.matrix_world @ bone.matrix_local @ Matrix.Translation((0, bone.length, 0))
        obj.matrix_parent_inverse = at_tail.inverted()
        obj.matrix_basis = world

    # --- animation ------------------------------------------------------------------------

    def animate(self) -> None:
        fps = self.d["fps"]
        data = self.rig.animation_data_create()
        idle = self.key_action("idle", self.d["idle"], fps)
        gesture = self.key_action("gesture", self.d["gesture"], fps)
        data.action = None
        for name, action in (("idle", idle), ("gesture", gesture)):
            track = data.nla_tracks.new()
            track.name = name
            start = action.frame_range[0]
            strip = track.strips.new(name, int(start), action)
            strip.blend_type = "REPLACE"
            strip.extrapolation = "HOLD" if name == "idle" else "NOTHING"
            if name == "gesture":
                strip.frame_start = start  # keys start after the entrance
                blend = self.d["blend_s"] * fps
                strip.blend_in = blend
                strip.blend_out = blend
                strip.use_auto_blend = False

    def key_action(self, name: str, keys: list[list[Any]], fps: float) -> Any:
        """An action with a key at each (seconds, pose) of `keys`, smoothly interpolated (Bezier)."""
        bpy = self.bpy
        data = self.rig.animation_data
        action = bpy.data.actions.new(name)
        data.action = action
        previous: dict[str, Any] = {}
        for seconds, pose in keys:
            frame = 1 + round(seconds * fps)  # whole frames: the strips start on one
            for bone_name, prop, value in self.pose_values(pose):
                pose_bone = self.rig.pose.bones[bone_name]
                if prop == "rotation_quaternion":
                    last = previous.get(bone_name)
                    if last is not None and last.dot(value) < 0:
                        value = -value  # the short way round from the last key
                    previous[bone_name] = value
                setattr(pose_bone, prop, value)
                pose_bone.keyframe_insert(prop, frame=frame, group=bone_name)
        return action

    def pose_values(self, pose: dict[str, Any]) -> list[tuple[str, str, Any]]:
        """(bone, property, value) for every bone the channels of `pose` move."""
        from mathutils import Euler, Quaternion, Vector

        values: list[tuple[str, str, Any]] = []
        absolute: dict[str, Any] = {"root": Quaternion()}  # bone -> rotation from rest, character space

        def rotate(bone_name: str, parent: str, relative: Any) -> None:
            absolute[bone_name] = absolute.get(parent, Quaternion()) @ relative
            values.append((bone_name, "rotation_quaternion", self.local(bone_name, parent, absolute)))

        def degrees(nod: float, tilt: float, turn: float) -> Any:
            # nod: forward about x; tilt: towards the screen's right about -y; turn: towards +x about z
            return Euler((math.radians(nod), math.radians(tilt), math.radians(turn)), "ZXY").to_quaternion()

        if "root" in pose:
            scale = max(pose["root"][0], 1e-3)
            values.append(("root", "scale", Vector((scale, scale, scale))))
        spine = pose.get("spine", [0.0, 0.0, 0.0])
        if "spine" in pose:
            rotate("spine", "root", degrees(*spine))
        else:
            absolute["spine"] = degrees(*spine)
        if "head" in pose:
            nod, tilt, turn = pose["head"]
            half = degrees(nod / 2, tilt / 2, turn / 2)
            rotate("neck", "spine", half)
            rotate("head", "neck", half)
        shoulders = pose.get("shoulders", [0.0, 0.0])
        for side, sign, raised in (("L", 1.0, shoulders[0]), ("R", -1.0, shoulders[1])):
            relative = Quaternion((0, 1, 0), -sign * math.radians(raised))
            if "shoulders" in pose:
                rotate(f"shoulder.{side}", "spine", relative)
            else:
                absolute[f"shoulder.{side}"] = absolute["spine"] @ relative
            arm = pose.get(f"arm.{side}")
            if arm is not None:
                self.arm_values(side, arm, absolute, values)
            curls = pose.get(f"fingers.{side}")
            if curls is not None:
                self.finger_values(side, curls, values)
        if "eyes" in pose:
            right, up = pose["eyes"]
            look = Euler((-math.radians(up * LOOK_DEG), 0, math.radians(right * LOOK_DEG)), "ZXY")
            for side in ("L", "R"):
                values.append((f"eye.{side}", "rotation_quaternion", self.relative(f"eye.{side}", look)))
        if "lids" in pose:
            open_share = max(1.0 - 0.92 * pose["lids"][0], 0.05)
            for side in ("L", "R"):
                values.append((f"blink.{side}", "scale", Vector((1, 1, open_share))))
        if "brows" in pose:
            for side, raised in zip(("L", "R"), pose["brows"], strict=True):
                values.append((f"brow.{side}", "location", Vector((0, 0, BROW_M * raised))))
        if "mouth" in pose:
            width, smile = pose["mouth"]
            values.append(("mouth", "scale", Vector((width, 1, smile if abs(smile) > 0.2 else 0.2))))
        return values

    def arm_values(self, side: str, arm: dict[str, Any], absolute: dict[str, Any], values: list[Any]) -> None:
        from mathutils import Vector

        bones = self.rig.data.bones
        for bone_name, parent, part in (
            (f"upper_arm.{side}", f"shoulder.{side}", "upper"),
            (f"forearm.{side}", f"upper_arm.{side}", "fore"),
        ):
            rest = (bones[bone_name].tail_local - bones[bone_name].head_local).normalized()
            absolute[bone_name] = rest.rotation_difference(Vector(arm[part]).normalized())
            values.append((bone_name, "rotation_quaternion", self.local(bone_name, parent, absolute)))
        rest_direction, rest_palm, _ = self.hand_frames[side]
        direction, palm = orthonormal(Vector(arm["hand"]), Vector(arm["palm"]))
        absolute[f"hand.{side}"] = frame(direction, palm) @ frame(rest_direction, rest_palm).inverted()
        values.append(
            (f"hand.{side}", "rotation_quaternion", self.local(f"hand.{side}", f"forearm.{side}", absolute))
        )

    def finger_values(self, side: str, curls: list[float], values: list[Any]) -> None:
        from mathutils import Quaternion

        direction, palm, thumb_side = self.hand_frames[side]
        bones = self.rig.data.bones
        for finger, curl in zip(("thumb", *FINGER_SPREAD), curls, strict=True):
            bone = bones[f"{finger}.{side}"]
            along = (bone.tail_local - bone.head_local).normalized()
            toward = palm if finger != "thumb" else (palm - thumb_side * 0.6).normalized()
            axis = along.cross(toward).normalized()  # bends `along` towards `toward`
            relative = Quaternion(axis, math.radians(CURL_DEG * curl))
            values.append(
                (f"{finger}.{side}", "rotation_quaternion", self.relative(f"{finger}.{side}", relative))
            )

    def local(self, bone_name: str, parent: str, absolute: dict[str, Any]) -> Any:
        """The pose rotation of a bone whose rotation from rest, in the character's space, is
        absolute[bone_name], under a parent rotated by absolute[parent]."""
        from mathutils import Quaternion

        rest = self.rig.data.bones[bone_name].matrix_local.to_quaternion()
        relative = absolute.get(parent, Quaternion()).inverted() @ absolute[bone_name]
        return rest.inverted() @ relative @ rest

    def relative(self, bone_name: str, rotation: Any) -> Any:
        """The pose rotation of a bone turned by `rotation` (character space) relative to its parent."""
        rest = self.rig.data.bones[bone_name].matrix_local.to_quaternion()
        quaternion = rotation.to_quaternion() if hasattr(rotation, "to_quaternion") else rotation
        return rest.inverted() @ quaternion @ rest

    # --- camera, light, render ------------------------------------------------------------

    def make_camera(self) -> None:
        bpy = self.bpy
        framing = self.d["framing"]
        camera = bpy.data.cameras.new("camera")
        camera.type = "ORTHO"  # flat, like a drawing: the size on screen is the same at any depth
        camera.ortho_scale = framing["ortho_scale"]
        camera.clip_end = 100
        obj = bpy.data.objects.new("camera", camera)
        obj.location = (framing["camera_x"], -20.0, framing["camera_z"])
        obj.rotation_euler = (math.pi / 2, 0, 0)
        self.scene.collection.objects.link(obj)
        self.scene.camera = obj
        for name, energy, rotation in (("key", 3.0, (0.9, 0.25, -0.5)), ("fill", 1.2, (1.2, -0.3, 0.7))):
            light = bpy.data.lights.new(name, "SUN")
            light.energy = energy
            light_obj = bpy.data.objects.new(name, light)
            light_obj.rotation_euler = rotation
            self.scene.collection.objects.link(light_obj)
        world = bpy.data.worlds.new("world")
        world.color = (0.25, 0.25, 0.28)
        world.use_nodes = True
        background = world.node_tree.nodes.get("Background")
        if background is not None:
            background.inputs["Color"].default_value = (0.35, 0.35, 0.4, 1.0)
            background.inputs["Strength"].default_value = 0.8
        self.scene.world = world

    def configure_render(self) -> None:
        scene = self.scene
        render = scene.render
        render.engine = engine_name(self.d["engine"])
        framing = self.d["framing"]  # only the box the character can reach: the encoder pads the rest
        render.resolution_x, render.resolution_y = framing["box_width"], framing["box_height"]
        render.resolution_percentage = 100
        render.film_transparent = True
        fps = self.d["fps"]
        render.fps = max(1, round(fps))
        render.fps_base = render.fps / fps
        render.image_settings.file_format = "PNG"
        render.image_settings.color_mode = "RGBA"
        render.image_settings.color_depth = "8"
        threads = int(os.environ.get("AVE_BLENDER_THREADS", "0"))
        if threads > 0:
            render.threads_mode = "FIXED"
            render.threads = threads
        scene.frame_start, scene.frame_end = 1, self.d["frames"]
        scene.view_settings.view_transform = "Standard"  # the colours asked for, not filmic ones
        shading = scene.display.shading
        shading.light = "STUDIO"
        shading.color_type = "MATERIAL"
        shading.show_object_outline = True
        shading.object_outline_color = (0.05, 0.05, 0.07)
        shading.show_cavity = False
        shading.show_specular_highlight = True
        scene.display.render_aa = workbench_aa(self.d["samples"])
        if render.engine == "CYCLES":
            scene.cycles.device = "CPU"
            scene.cycles.samples = self.d["samples"]
            scene.cycles.use_denoising = self.d["denoise"]
            scene.cycles.use_adaptive_sampling = False
        elif "EEVEE" in render.engine:
            scene.eevee.taa_render_samples = self.d["samples"]

    def render(self, frames_dir: Path) -> None:
        self.scene.render.filepath = str(frames_dir / "frame_")
        self.bpy.ops.render.render(animation=True)


def workbench_aa(samples: int) -> str:
    """Workbench's anti-aliasing for a number of samples: the most it offers up to `samples` (1: FXAA)."""
    offered = [5, 8, 11, 16, 32]
    return str(max((n for n in offered if n <= samples), default=0) or "FXAA")


def engine_name(wanted: str) -> str:
    """The engine's identifier in this Blender: Eevee is BLENDER_EEVEE_NEXT in 4.2-4.4."""
    import bpy

    known = {item.identifier for item in bpy.types.RenderSettings.bl_rna.properties["engine"].enum_items}
    if wanted in known or wanted != "BLENDER_EEVEE":
        return wanted
    return "BLENDER_EEVEE_NEXT"


def orthonormal(direction: Any, normal: Any) -> tuple[Any, Any]:
    """`direction` normalised, and `normal` made perpendicular to it (Gram-Schmidt)."""
    direction = direction.normalized()
    normal = (normal - direction * normal.dot(direction)).normalized()
    return direction, normal


def frame(direction: Any, normal: Any) -> Any:
    """The rotation taking y to `direction` and z to `normal` (both unit and perpendicular)."""
    from mathutils import Matrix

    x = direction.cross(normal)
    matrix = Matrix((x, direction, normal)).transposed()
    return matrix.to_quaternion()


def build_mesh(mesh: Any, shape: str, major: float, minor: float) -> None:
    """Fill `mesh` with a unit primitive: sphere, cube, cylinder (along z), a four-sided cone, a torus
    (around z, radii `major` and `minor`), or a smile (the lower half of such a torus)."""
    import bmesh
    from mathutils import Matrix

    bm = bmesh.new()
    if shape == "sphere":
        bmesh.ops.create_uvsphere(bm, u_segments=32, v_segments=16, radius=1.0)
    elif shape == "cube":
        bmesh.ops.create_cube(bm, size=2.0)
    elif shape == "cylinder":
        bmesh.ops.create_cone(bm, cap_ends=True, segments=20, radius1=1.0, radius2=1.0, depth=2.0)
    elif shape == "cone4":
        bmesh.ops.create_cone(bm, cap_ends=True, segments=4, radius1=1.0, radius2=0.0, depth=2.0,
                              matrix=Matrix.Rotation(math.pi, 4, "X"))  # fmt: skip
    elif shape in ("torus", "smile"):
        torus(bm, major, minor, lower_half=shape == "smile")
    bm.to_mesh(mesh)
    bm.free()
    for polygon in mesh.polygons:
        polygon.use_smooth = shape not in ("cube", "cone4")


def torus(bm: Any, major: float, minor: float, lower_half: bool) -> None:
    """A torus around z into `bm` (its lower half in y: a smile once stood up facing the camera)."""
    rings, sides = 32, 12
    first, last = (math.pi, 2 * math.pi) if lower_half else (0.0, 2 * math.pi)
    count = rings + 1 if lower_half else rings
    grid = []
    for i in range(count):
        u = first + (last - first) * i / rings
        row = []
        for j in range(sides):
            v = 2 * math.pi * j / sides
            radius = major + minor * math.cos(v)
            row.append(bm.verts.new((radius * math.cos(u), radius * math.sin(u), minor * math.sin(v))))
        grid.append(row)
    for i in range(count if not lower_half else count - 1):
        a, b = grid[i], grid[(i + 1) % count]
        for j in range(sides):
            bm.faces.new((a[j], b[j], b[(j + 1) % sides], a[(j + 1) % sides]))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
